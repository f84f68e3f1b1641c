// Native sampler: each control against a plain float64 reference of the distribution it defines.
#include <cmath>
#include <map>
#include <vector>

#include "model/sampler.h"
#include "testing.h"

using sl4j::TokenSampler;

namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.0f, -0.5f, 0.5f};

// softmax(z / t) over the allowed ids, float64.
std::vector<double> reference_probs(const std::vector<double>& z, double t, const std::vector<bool>& allowed) {
    double m = -INFINITY;
    for (size_t i = 0; i < z.size(); ++i)
        if (allowed[i]) m = std::max(m, z[i] / t);
    std::vector<double> p(z.size(), 0.0);
    double s = 0;
    for (size_t i = 0; i < z.size(); ++i)
        if (allowed[i]) s += p[i] = std::exp(z[i] / t - m);
    for (double& v : p) v /= s;
    return p;
}

// Empirical frequencies of n draws vs the reference: every |f - p| within 5 standard errors.
void check_frequencies(TokenSampler& s, const std::vector<double>& p, int n) {
    std::vector<int> hits(p.size(), 0);
    for (int i = 0; i < n; ++i) ++hits[s.sample(kLogits.data(), -1, nullptr, 0, nullptr, nullptr)];
    for (size_t i = 0; i < p.size(); ++i) {
        double f = (double)hits[i] / n, se = std::sqrt(std::max(p[i] * (1 - p[i]), 1e-12) / n);
        CHECK_NEAR(f, p[i], 5 * se + 1e-9);
        if (p[i] == 0) CHECK_EQ(hits[i], 0);
    }
}

std::vector<double> as_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

}  // namespace

TEST(sampler_greedy_logprob_and_top_n_match_log_softmax) {
    sl4j_sampler_params c = sl4j::sampler_default_params();
    c.temperature = 0;
    TokenSampler s(c, (int64_t)kLogits.size());
    float lp = 0;
    int32_t ids[3];
    float lps[3];
    CHECK_EQ(s.sample(kLogits.data(), -1, &lp, 3, ids, lps), 1);
    double lse = 0;
    for (float v : kLogits) lse += std::exp((double)v);
    lse = std::log(lse);
    CHECK_NEAR(lp, 3.0 - lse, 1e-6);
    CHECK_EQ(ids[0], 1);
    CHECK_EQ(ids[1], 2);
    CHECK_EQ(ids[2], 5);
    CHECK_NEAR(lps[1], 2.5 - lse, 1e-6);
    CHECK_NEAR(lps[2], 2.0 - lse, 1e-6);
    // banned: the next best; the reported log-prob stays the model's
    CHECK_EQ(s.sample(kLogits.data(), 1, &lp, 0, nullptr, nullptr), 2);
    CHECK_NEAR(lp, 2.5 - lse, 1e-6);
}

TEST(sampler_temperature_top_k_top_p_min_p_draw_the_reference_distribution) {
    const int n = 40000;
    const std::vector<double> z = as_double(kLogits);
    std::vector<bool> all(z.size(), true);
    {
        sl4j_sampler_params c = sl4j::sampler_default_params();
        c.temperature = 0.7f;
        c.seed = 11;
        TokenSampler s(c, (int64_t)z.size());
        check_frequencies(s, reference_probs(z, 0.7, all), n);
    }
    {
        sl4j_sampler_params c = sl4j::sampler_default_params();  // top-k 3: ids 1, 2, 5
        c.top_k = 3;
        c.seed = 12;
        TokenSampler s(c, (int64_t)z.size());
        std::vector<bool> keep(z.size(), false);
        keep[1] = keep[2] = keep[5] = true;
        check_frequencies(s, reference_probs(z, 1.0, keep), n);
    }
    {
        // top-p 0.6 at temperature 1: p(1)=.40, p(2)=.24 -> cumulative .64 >= .6 keeps {1, 2}
        sl4j_sampler_params c = sl4j::sampler_default_params();
        c.top_p = 0.6f;
        c.seed = 13;
        TokenSampler s(c, (int64_t)z.size());
        std::vector<double> full = reference_probs(z, 1.0, all);
        CHECK(full[1] < 0.6 && full[1] + full[2] >= 0.6);
        std::vector<bool> keep(z.size(), false);
        keep[1] = keep[2] = true;
        check_frequencies(s, reference_probs(z, 1.0, keep), n);
    }
    {
        // min-p 0.3: keep p >= 0.3 * p_max, i.e. z >= 3 + ln 0.3 = 1.796 -> {1, 2, 5}
        sl4j_sampler_params c = sl4j::sampler_default_params();
        c.min_p = 0.3f;
        c.seed = 14;
        TokenSampler s(c, (int64_t)z.size());
        std::vector<bool> keep(z.size(), false);
        keep[1] = keep[2] = keep[5] = true;
        check_frequencies(s, reference_probs(z, 1.0, keep), n);
    }
}

TEST(sampler_penalties_and_logit_bias_change_the_logits_by_their_formulas) {
    // repeat 2, frequency 0.25, presence 0.5; window holds 1, 1, 6.
    sl4j_sampler_params c = sl4j::sampler_default_params();
    c.temperature = 1.0f;
    c.repeat_penalty = 2.0f;
    c.frequency_penalty = 0.25f;
    c.presence_penalty = 0.5f;
    c.seed = 21;
    TokenSampler s(c, (int64_t)kLogits.size());
    s.accept(1);
    s.accept(1);
    s.accept(6);
    const int32_t bias_ids[] = {3, 0};
    const float bias[] = {2.0f, -INFINITY};
    s.set_logit_bias(bias_ids, bias, 2);
    std::vector<double> z = as_double(kLogits);
    z[3] += 2.0;
    z[1] = 3.0 / 2.0 - 0.25 * 2 - 0.5;   // positive: divided
    z[6] = -0.5 * 2.0 - 0.25 * 1 - 0.5;  // negative: multiplied
    std::vector<bool> keep(z.size(), true);
    keep[0] = false;  // banned by -inf bias
    check_frequencies(s, reference_probs(z, 1.0, keep), 40000);
}

TEST(sampler_penalty_window_forgets_old_tokens_and_same_seed_repeats) {
    sl4j_sampler_params c = sl4j::sampler_default_params();
    c.temperature = 0;
    c.repeat_penalty = 100.0f;
    c.penalty_last_n = 2;
    TokenSampler s(c, (int64_t)kLogits.size());
    s.accept(1);
    CHECK_EQ(s.sample(kLogits.data(), -1, nullptr, 0, nullptr, nullptr), 2);  // 1 penalised
    s.accept(4);
    s.accept(4);  // window {4, 4}: 1 forgotten
    CHECK_EQ(s.sample(kLogits.data(), -1, nullptr, 0, nullptr, nullptr), 1);
    sl4j_sampler_params r = sl4j::sampler_default_params();
    r.seed = 99;
    TokenSampler a(r, (int64_t)kLogits.size()), b(r, (int64_t)kLogits.size());
    for (int i = 0; i < 50; ++i)
        CHECK_EQ(a.sample(kLogits.data(), -1, nullptr, 0, nullptr, nullptr),
                 b.sample(kLogits.data(), -1, nullptr, 0, nullptr, nullptr));
}

TEST(sampler_rejects_bad_settings_and_an_all_banned_row) {
    sl4j_sampler_params c = sl4j::sampler_default_params();
    c.top_p = 0;
    EXPECT_THROWS(TokenSampler(c, 8));
    sl4j_sampler_params d = sl4j::sampler_default_params();
    d.temperature = -1;
    EXPECT_THROWS(TokenSampler(d, 8));
    sl4j_sampler_params e = sl4j::sampler_default_params();
    TokenSampler s(e, 2);
    const int32_t ids[] = {0, 1};
    const float ban[] = {-INFINITY, -INFINITY};
    s.set_logit_bias(ids, ban, 2);
    const float row[] = {0.0f, 1.0f};
    EXPECT_THROWS(s.sample(row, -1, nullptr, 0, nullptr, nullptr));
    const int32_t bad[] = {5};
    const float one[] = {1.0f};
    EXPECT_THROWS(s.set_logit_bias(bad, one, 1));
    EXPECT_THROWS(s.accept(-1));
}
