// A minimal test harness for the native engine: TEST(name) { ... } registers a
// case; CHECK*/EXPECT_THROWS record failures without stopping other cases.
// The runner (testing_main.cpp) prints "N passed, N failed" and exits non-zero
// on any failure. Run one case with: engine_tests <substring>.
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace sl4j_test {

struct Case {
    const char* name;
    std::function<void()> fn;
};
std::vector<Case>& registry();
void record_failure(const char* file, int line, const std::string& what);

struct Registrar {
    Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

// Directory holding ../shared, or "" when absent (tests needing it skip).
std::string shared_dir();
// Mark the running case as skipped with a reason.
void skip(const std::string& why);
// True when the environment says this is CI (CI=true): there a missing ../shared is a failure.
bool in_ci();
// A real file from ../shared is missing: skip with the reason, or fail in CI, so that CI never
// goes green by skipping.
void missing_shared(const std::string& why);

}  // namespace sl4j_test

#define SL4J_CAT2(a, b) a##b
#define SL4J_CAT(a, b) SL4J_CAT2(a, b)
#define TEST(name)                                                                      \
    static void SL4J_CAT(test_, name)();                                                \
    static sl4j_test::Registrar SL4J_CAT(reg_, name)(#name, SL4J_CAT(test_, name));     \
    static void SL4J_CAT(test_, name)()

#define CHECK(cond)                                                                     \
    do { if (!(cond)) sl4j_test::record_failure(__FILE__, __LINE__, "CHECK(" #cond ")"); } while (0)

#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        auto _a = (a); auto _b = (b);                                                   \
        if (!(_a == _b))                                                                \
            sl4j_test::record_failure(__FILE__, __LINE__,                               \
                std::string("CHECK_EQ(" #a ", " #b "): ") + std::to_string(_a) + " vs " + std::to_string(_b)); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                           \
    do {                                                                                \
        double _a = (double)(a), _b = (double)(b), _t = (double)(tol);                  \
        if (!(std::fabs(_a - _b) <= _t))                                                \
            sl4j_test::record_failure(__FILE__, __LINE__,                               \
                std::string("CHECK_NEAR(" #a ", " #b "): ") + std::to_string(_a) + " vs " + \
                std::to_string(_b) + " tol " + std::to_string(_t));                     \
    } while (0)

#define EXPECT_THROWS(stmt)                                                             \
    do {                                                                                \
        bool _threw = false;                                                            \
        try { stmt; } catch (...) { _threw = true; }                                    \
        if (!_threw) sl4j_test::record_failure(__FILE__, __LINE__, "expected exception: " #stmt); \
    } while (0)
