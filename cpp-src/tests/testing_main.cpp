#include <cstdlib>
#include <exception>
#include <sys/stat.h>

#include "testing.h"

namespace sl4j_test {

namespace {
int g_failures_in_case = 0;
bool g_skipped = false;
struct SkipSignal {};
}  // namespace

std::vector<Case>& registry() {
    static std::vector<Case> cases;
    return cases;
}

void record_failure(const char* file, int line, const std::string& what) {
    ++g_failures_in_case;
    std::fprintf(stderr, "    %s:%d: %s\n", file, line, what.c_str());
}

std::string shared_dir() {
    const char* env = std::getenv("SL4J_SHARED_DIR");
    std::string dir = env ? env : "../shared";
    struct stat st;
    return stat(dir.c_str(), &st) == 0 ? dir : "";
}

void skip(const std::string& why) {
    g_skipped = true;
    std::fprintf(stderr, "    skipped: %s\n", why.c_str());
    throw SkipSignal{};
}

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string(ci) == "true";
}

void missing_shared(const std::string& why) {
    if (!in_ci()) skip(why);
    record_failure("../shared", 0, why + " (CI=true: the real files must be present in CI; a skip would hide the test)");
    throw SkipSignal{};
}

}  // namespace sl4j_test

int main(int argc, char** argv) {
    using namespace sl4j_test;
    int passed = 0, failed = 0, skipped = 0;
    for (const Case& c : registry()) {
        if (argc > 1 && std::string(c.name).find(argv[1]) == std::string::npos) continue;
        g_failures_in_case = 0;
        g_skipped = false;
        try {
            c.fn();
        } catch (const SkipSignal&) {
        } catch (const std::exception& e) {
            record_failure(c.name, 0, std::string("uncaught exception: ") + e.what());
        } catch (...) {
            record_failure(c.name, 0, "uncaught non-standard exception");
        }
        if (g_skipped && g_failures_in_case == 0) {
            ++skipped;
            std::fprintf(stderr, "SKIP %s\n", c.name);
        } else if (g_failures_in_case == 0) {
            ++passed;
            std::fprintf(stderr, "ok   %s\n", c.name);
        } else {
            ++failed;
            std::fprintf(stderr, "FAIL %s\n", c.name);
        }
    }
    std::printf("native: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
}
