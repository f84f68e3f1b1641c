// Native sampler: each control against a plain float64 reference of the distribution it defines.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "backend/backend.h"
#include "core/hash.h"
#include "model/sampler.h"
#include "sample_reference.h"
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

// ---- Backend::sample_rows (the op the session calls) against the float64 reference ----

namespace {

// A row of logits on a grid of 1/32 (ties exact, distinct values well apart) in [-4, 4].
std::vector<float> grid_logits(int64_t V, uint64_t seed) {
    std::vector<float> l(static_cast<size_t>(V));
    for (int64_t i = 0; i < V; ++i) l[size_t(i)] = float(int64_t(sl4j::mix64(seed ^ sl4j::mix64(uint64_t(i))) % 257) - 128) / 32.f;
    return l;
}

double uniform_of(uint64_t seed, uint64_t i) { return double(sl4j::mix64(seed ^ sl4j::mix64(i)) >> 11) * 0x1p-53; }

sl4j::SampleRowParams row_params(float t, int32_t top_k, float top_p, float min_p) {
    sl4j::SampleRowParams p{};
    p.row = 0, p.banned = -1, p.temperature = t, p.top_k = top_k, p.top_p = top_p, p.min_p = min_p;
    p.repeat_penalty = 1.f, p.frequency_penalty = 0.f, p.presence_penalty = 0.f;
    return p;
}

// n picks from one row with draws u_j: every pick is the reference's inverse-CDF pick of u_j
// (draws within 1e-9 of a boundary are counted, not checked: there float rounding decides), the
// frequencies are within 5 standard errors of the exact probabilities, and each log-prob is the
// raw row's float64 log-softmax within 1e-6.
void check_op_against_reference(sl4j::Backend& be, const std::vector<float>& logits, sl4j::SampleRowParams p,
                                const std::vector<sl4j::SampleAdjust>& adjust, int n, uint64_t seed) {
    const int64_t V = int64_t(logits.size());
    p.adj_begin = 0, p.adj_count = int32_t(adjust.size());
    const sl4j_test::RefCandidates ref = sl4j_test::reference_candidates(logits.data(), V, p, adjust.data());
    CHECK(ref.cut_margin > 1e-6);  // the top-p cut is not a knife edge: float and float64 agree on it
    std::vector<sl4j::SampleRowParams> ps(static_cast<size_t>(n), p);
    for (int j = 0; j < n; ++j) ps[size_t(j)].u = uniform_of(seed, uint64_t(j));
    std::vector<int32_t> tokens(static_cast<size_t>(n));
    std::vector<float> lps(static_cast<size_t>(n));
    std::vector<char> scratch(size_t(be.sample_scratch_bytes(n, V)));
    be.sample_rows(tokens.data(), lps.data(), logits.data(), ps.data(), adjust.data(), scratch.data(), n, V);
    std::map<int32_t, int> hits;
    int edge = 0, wrong = 0;
    for (int j = 0; j < n; ++j) {
        double margin;
        const int32_t want = sl4j_test::reference_pick(ref, ps[size_t(j)].u, &margin);
        if (margin < 1e-9)
            ++edge;
        else if (tokens[size_t(j)] != want)
            ++wrong;
        ++hits[tokens[size_t(j)]];
        if (tokens[size_t(j)] >= 0)
            CHECK_NEAR(lps[size_t(j)], sl4j_test::reference_logprob(logits.data(), V, tokens[size_t(j)]), 1e-6);
    }
    CHECK_EQ(wrong, 0);
    CHECK(edge <= n / 1000);
    for (size_t k = 0; k < ref.ids.size(); ++k) {
        const double f = double(hits[ref.ids[k]]) / n, pk = ref.prob[k];
        CHECK_NEAR(f, pk, 5 * std::sqrt(pk * (1 - pk) / n) + 1e-9);
        hits.erase(ref.ids[k]);
    }
    CHECK(hits.empty());  // nothing outside the kept candidates
}

}  // namespace

TEST(sample_rows_op_is_the_inverse_cdf_of_the_float64_reference) {
    auto be = sl4j::make_cpu_backend();
    const int64_t V = 1000;
    const std::vector<float> logits = grid_logits(V, 5);
    // Penalised and biased tokens: counts 1..3, a +1.5 bias, a -inf bias; token 7 banned.
    std::vector<sl4j::SampleAdjust> adj;
    for (int32_t t = 0; t < 12; ++t) adj.push_back({t * 37 + 3, 1 + t % 3, 0.f});
    adj.push_back({500, 0, 1.5f});
    adj.push_back({501, 0, -INFINITY});
    adj.push_back({40, 2, 0.75f});  // bias and penalties on one token
    sl4j::SampleRowParams all = row_params(0.8f, 40, 0.9f, 0.02f);
    all.repeat_penalty = 1.3f, all.frequency_penalty = 0.2f, all.presence_penalty = 0.1f, all.banned = 7;
    check_op_against_reference(*be, logits, all, adj, 20000, 1);
    // Temperature alone (id order), penalties on.
    sl4j::SampleRowParams hot = row_params(1.3f, 0, 1.f, 0.f);
    hot.repeat_penalty = 1.1f, hot.frequency_penalty = 0.5f;
    check_op_against_reference(*be, logits, hot, adj, 20000, 2);
    check_op_against_reference(*be, logits, row_params(1.f, 25, 1.f, 0.f), {}, 20000, 3);   // top-k: sorted order
    check_op_against_reference(*be, logits, row_params(0.6f, 0, 1.f, 0.1f), {}, 20000, 4);  // min-p: id order
    check_op_against_reference(*be, logits, row_params(1.f, 0, 0.5f, 0.f), {}, 20000, 5);   // top-p alone
}

TEST(sample_rows_op_exact_edges_greedy_ties_top_k_1_tiny_top_p_and_failures) {
    auto be = sl4j::make_cpu_backend();
    const int64_t V = 1000;
    std::vector<float> logits = grid_logits(V, 9);
    float top = -INFINITY;
    for (float v : logits) top = std::max(top, v);
    logits[600] = logits[300] = top + 1.f;  // a tie at the top: 300 (the lower id) is the argmax
    std::vector<char> scratch(size_t(be->sample_scratch_bytes(1, V)));
    auto pick = [&](sl4j::SampleRowParams p, const std::vector<sl4j::SampleAdjust>& adj, float* lp) {
        p.adj_begin = 0, p.adj_count = int32_t(adj.size());
        int32_t t = 0;
        be->sample_rows(&t, lp, logits.data(), &p, adj.data(), scratch.data(), 1, V);
        return t;
    };
    float lp = 0;
    for (double u : {0.0, 0.5, 1.0 - 0x1p-53}) {
        sl4j::SampleRowParams greedy = row_params(0.f, 0, 1.f, 0.f), k1 = row_params(1.f, 1, 1.f, 0.f),
                              tiny_p = row_params(1.f, 0, 1e-6f, 0.f), min_p1 = row_params(1.f, 0, 1.f, 1.f);
        greedy.u = k1.u = tiny_p.u = min_p1.u = u;
        CHECK_EQ(pick(greedy, {}, &lp), 300);
        CHECK_NEAR(lp, sl4j_test::reference_logprob(logits.data(), V, 300), 1e-6);
        CHECK_EQ(pick(k1, {}, &lp), 300);
        CHECK_EQ(pick(tiny_p, {}, &lp), 300);
        CHECK_EQ(pick(min_p1, {}, &lp), u < 0.5 ? 300 : 600);  // min-p 1 keeps the tie, in id order
        // Banned, or penalised below the rest: the next; the log-prob stays the raw row's.
        greedy.banned = 300;
        CHECK_EQ(pick(greedy, {}, &lp), 600);
        CHECK_NEAR(lp, sl4j_test::reference_logprob(logits.data(), V, 600), 1e-6);
        greedy.banned = -1;
        sl4j::SampleRowParams pen = greedy;
        pen.presence_penalty = 100.f;
        const std::vector<sl4j::SampleAdjust> seen = {{300, 1, 0.f}, {600, 2, 0.f}};
        pen.adj_begin = 0, pen.adj_count = 2;
        CHECK_EQ(pick(pen, seen, &lp), sl4j_test::reference_greedy(logits.data(), V, pen, seen.data()));
        CHECK(lp < -1.f);
    }
    // u = 0 draws the first candidate in the draw's order, u → 1 the last.
    sl4j::SampleRowParams first = row_params(1.f, 0, 1.f, 0.f);
    first.u = 0;
    CHECK_EQ(pick(first, {}, &lp), 0);
    first.u = 1.0 - 0x1p-53;
    CHECK_EQ(pick(first, {}, &lp), int32_t(V - 1));
    first.top_k = 3;
    first.u = 0;
    CHECK_EQ(pick(first, {}, &lp), 300);  // sorted: the tie's lower id first
    first.u = 1.0 - 0x1p-53;
    const int32_t third = pick(first, {}, &lp);
    CHECK(third != 300 && third != 600 && logits[size_t(third)] <= top);
    // Failures come back as codes (a device cannot throw): every token excluded; no finite logit.
    std::vector<sl4j::SampleAdjust> ban_all;
    for (int32_t t = 0; t < V; ++t) ban_all.push_back({t, 0, -INFINITY});
    CHECK_EQ(pick(row_params(1.f, 0, 1.f, 0.f), ban_all, &lp), sl4j::kSampleAllExcluded);
    CHECK_EQ(pick(row_params(0.f, 0, 1.f, 0.f), ban_all, &lp), sl4j::kSampleAllExcluded);
    std::fill(logits.begin(), logits.end(), -INFINITY);
    CHECK_EQ(pick(row_params(1.f, 0, 1.f, 0.f), {}, &lp), sl4j::kSampleNoFiniteLogit);
}
