// Loader of the CUDA backend plugin (backend/cuda_plugin.h): make_cuda_backend and
// cuda_device_count of the engine go through it.
#include "backend/cuda_plugin.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <mutex>

#include "core/error.h"

// Defined when the CUDA objects are linked into the same executable (engine_tests, gpu_bench);
// unresolved, hence NULL, in libstackllama4j.so, which opens the plugin instead.
extern "C" const sl4j::CudaPlugin* sl4j_cuda_plugin(void) __attribute__((weak));

namespace sl4j {
namespace {

struct PluginState {
    std::mutex mutex;
    std::string path, hint;  // configure_cuda_plugin's settings
    bool tried = false;
    const CudaPlugin* plugin = nullptr;
    int32_t status = SL4J_OK;  // of the failed attempt
    std::string error;
};

PluginState& plugin_state() {
    static PluginState state;
    return state;
}

// The plugin's file beside the library (or executable) this code is part of.
std::string default_plugin_path() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&default_plugin_path), &info) != 0 && info.dli_fname != nullptr) {
        const std::string self = info.dli_fname;
        const size_t slash = self.rfind('/');
        if (slash != std::string::npos) return self.substr(0, slash + 1) + kCudaPluginFile;
    }
    return kCudaPluginFile;
}

const CudaPlugin* open_cuda_plugin(const std::string& path, const std::string& runtime_hint, std::string* error,
                                   int32_t* status) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
        *status = SL4J_ERR_UNSUPPORTED;
        *error = format("the CUDA backend library %s is missing (this installation of stackllama4j has no CUDA "
                        "backend)", path.c_str());
        return nullptr;
    }
    *status = SL4J_ERR_BACKEND;
    dlerror();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        *error = cuda_plugin_load_error(path, why != nullptr ? why : "unknown dlopen error", runtime_hint);
        return nullptr;
    }
    using Entry = const CudaPlugin* (*)();
    Entry entry = reinterpret_cast<Entry>(dlsym(handle, "sl4j_cuda_plugin"));
    const CudaPlugin* table = entry != nullptr ? entry() : nullptr;
    if (table == nullptr || table->abi != kCudaPluginAbi) {
        *status = SL4J_ERR_UNSUPPORTED;
        *error = table == nullptr
                     ? format("%s is not a stackllama4j CUDA backend plugin (no sl4j_cuda_plugin entry point)",
                              path.c_str())
                     : format("%s is a CUDA backend plugin of another build of stackllama4j (plugin ABI %u, this "
                              "library expects %u)", path.c_str(), table->abi, kCudaPluginAbi);
        dlclose(handle);
        return nullptr;
    }
    return table;  // the plugin stays loaded for the life of the process
}

// The plugin's table, opened on first use; NULL with *why and *status when it cannot be had.
const CudaPlugin* cuda_plugin(std::string* why, int32_t* status) {
    if (sl4j_cuda_plugin != nullptr) return sl4j_cuda_plugin();
#ifndef SL4J_WITH_CUDA
    *status = SL4J_ERR_UNSUPPORTED;
    *why = "this build of stackllama4j has no CUDA backend (built without nvcc)";
    return nullptr;
#else
    PluginState& s = plugin_state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.tried) {
        s.tried = true;
        s.plugin = open_cuda_plugin(s.path.empty() ? default_plugin_path() : s.path, s.hint, &s.error, &s.status);
    }
    if (s.plugin == nullptr) *why = s.error, *status = s.status;
    return s.plugin;
#endif
}

}  // namespace

void configure_cuda_plugin(const std::string& plugin_path, const std::string& runtime_hint) {
    PluginState& s = plugin_state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.path = plugin_path;
    s.hint = runtime_hint;
    if (s.plugin == nullptr) s.tried = false;
}

const CudaPlugin* open_cuda_plugin(const std::string& path, const std::string& runtime_hint, std::string* error) {
    int32_t status = SL4J_OK;
    return open_cuda_plugin(path, runtime_hint, error, &status);
}

std::string cuda_plugin_load_error(const std::string& path, const std::string& dlopen_error,
                                   const std::string& runtime_hint) {
    if (dlopen_error.find("libcudart") != std::string::npos)
        return "CUDA runtime not found: " +
               (runtime_hint.empty() ? std::string("no libcudart.so.13 is installed (install the NVIDIA CUDA 13 "
                                                   "runtime, or use the jar built with -Pcuda-redist)")
                                     : runtime_hint) +
               " (" + dlopen_error + ")";
    return format("the CUDA backend library %s could not be loaded: %s", path.c_str(), dlopen_error.c_str());
}

int cuda_device_count(std::string* why) {
    std::string reason;
    int32_t status = SL4J_OK;
    const CudaPlugin* plugin = cuda_plugin(&reason, &status);
    const int count = plugin != nullptr ? plugin->device_count(&reason) : 0;
    if (why != nullptr) *why = reason;
    return count;
}

int cuda_device_count() { return cuda_device_count(nullptr); }

std::unique_ptr<Backend> make_cuda_backend(int device_index, const CudaBackendOptions& options) {
    std::string why;
    int32_t status = SL4J_OK;
    const CudaPlugin* plugin = cuda_plugin(&why, &status);
    if (plugin == nullptr) SL4J_FAIL(status, "%s", why.c_str());
    return plugin->make_backend(device_index, options);
}

std::unique_ptr<Backend> make_cuda_backend(int device_index) { return make_cuda_backend(device_index, {}); }

}  // namespace sl4j
