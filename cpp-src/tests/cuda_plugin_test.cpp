// The CUDA plugin loader (backend/cuda_plugin.h); the names avoid "cuda", which gpu-check.sh runs
// on a bare GPU machine where the plugin is not carried. Every way opening libstackllama4j_cuda.so can
// fail gives one sentence saying which, never an abort; the built plugin opens through dlopen and
// reports what the linked-in CUDA backend of this executable reports.
#include <dlfcn.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "backend/cuda_plugin.h"
#include "testing.h"

using namespace sl4j;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Directory of this executable, with a trailing '/'.
std::string exe_dir() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "./";
    const std::string self(buf, static_cast<size_t>(n));
    return self.substr(0, self.rfind('/') + 1);
}

}  // namespace

TEST(plugin_missing_file_says_this_installation_has_no_gpu_backend) {
    std::string error;
    const std::string path = "/nonexistent-sl4j/libstackllama4j_cuda.so";
    CHECK(open_cuda_plugin(path, "", &error) == nullptr);
    std::fprintf(stderr, "    %s\n", error.c_str());
    CHECK(contains(error, path));
    CHECK(contains(error, "is missing"));
    CHECK(contains(error, "no CUDA backend"));
}

TEST(plugin_that_is_not_a_library_or_not_a_plugin_is_refused_by_name) {
    // A file that is not ELF at all.
    const std::string junk = "cuda_plugin_test_junk.so";
    FILE* f = std::fopen(junk.c_str(), "wb");
    CHECK(f != nullptr);
    if (f == nullptr) return;
    std::fputs("not a shared library\n", f);
    std::fclose(f);
    std::string error;
    CHECK(open_cuda_plugin("./" + junk, "", &error) == nullptr);
    std::fprintf(stderr, "    %s\n", error.c_str());
    CHECK(contains(error, "could not be loaded"));
    CHECK(contains(error, junk));
    std::remove(junk.c_str());

    // A real shared library without the entry point: libm, found through one of its functions.
    Dl_info info{};
    double (*cosine)(double) = &std::cos;
    CHECK(dladdr(reinterpret_cast<void*>(cosine), &info) != 0 && info.dli_fname != nullptr);
    const std::string libm = info.dli_fname != nullptr ? info.dli_fname : "";
    if (libm.find('/') == std::string::npos) return;  // std::cos linked statically: nothing to open
    error.clear();
    CHECK(open_cuda_plugin(libm, "", &error) == nullptr);
    std::fprintf(stderr, "    %s\n", error.c_str());
    CHECK(contains(error, "is not a stackllama4j CUDA backend plugin"));
}

TEST(plugin_without_its_runtime_says_runtime_not_found) {
    const std::string dl = "libcudart.so.13: cannot open shared object file: No such file or directory";
    const std::string plain = cuda_plugin_load_error("/x/libstackllama4j_cuda.so", dl, "");
    std::fprintf(stderr, "    %s\n", plain.c_str());
    CHECK(plain.rfind("CUDA runtime not found: no libcudart.so.13 is installed", 0) == 0);
    CHECK(contains(plain, dl));
    const std::string hint = "the org.bytedeco:cuda-redist jar for linux-x86_64 is not on the class path and no "
                             "libcudart.so.13 is installed";
    const std::string hinted = cuda_plugin_load_error("/x/libstackllama4j_cuda.so", dl, hint);
    CHECK(hinted.rfind("CUDA runtime not found: " + hint, 0) == 0);
    // Another missing dependency is not called a missing runtime.
    const std::string other = cuda_plugin_load_error("/x/libstackllama4j_cuda.so", "libfoo.so.1: cannot open", hint);
    CHECK(!contains(other, "CUDA runtime not found"));
    CHECK(contains(other, "/x/libstackllama4j_cuda.so could not be loaded: libfoo.so.1"));
}

// The plugin the build made beside this executable, opened with dlopen as libstackllama4j.so does:
// its ABI matches and it counts the same devices, with the same reason when there are none, as the
// CUDA backend linked into this executable.
TEST(plugin_built_here_opens_and_agrees_with_the_linked_backend) {
#ifndef SL4J_WITH_CUDA
    sl4j_test::skip("built without nvcc: there is no CUDA plugin");
#else
    const std::string path = exe_dir() + kCudaPluginFile;
    if (access(path.c_str(), R_OK) != 0) {
        sl4j_test::skip("no " + path + " beside this executable (only CMake's build folder has one)");
        return;
    }
    std::string error;
    const CudaPlugin* plugin = open_cuda_plugin(path, "", &error);
    CHECK(plugin != nullptr);
    if (plugin == nullptr) {
        std::fprintf(stderr, "    %s\n", error.c_str());
        return;
    }
    CHECK_EQ(plugin->abi, kCudaPluginAbi);
    CHECK(plugin != sl4j_cuda_plugin());  // the plugin's own table, not this executable's
    std::string why_plugin, why_linked;
    const int n_plugin = plugin->device_count(&why_plugin);
    const int n_linked = cuda_device_count(&why_linked);
    std::fprintf(stderr, "    plugin: %d device(s) %s\n", n_plugin, why_plugin.c_str());
    CHECK_EQ(n_plugin, n_linked);
    CHECK(why_plugin == why_linked);
    if (n_plugin == 0) CHECK(!why_plugin.empty());
#endif
}
