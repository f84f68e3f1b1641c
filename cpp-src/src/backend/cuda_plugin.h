// The CUDA backend as a plugin. libstackllama4j.so has no link to the CUDA runtime: the backend
// (cuda/*.cu) is built into its own shared library, libstackllama4j_cuda.so, linked to
// libcudart.so.13, which libstackllama4j.so opens with dlopen the first time CUDA is asked for
// (make_cuda_backend, cuda_device_count, choose_backend with CUDA or AUTO). The CPU path never
// touches it. Every failure on the way (plugin absent, CUDA runtime absent, no driver, no GPU)
// becomes a sentence saying which, never an abort.
//
// The plugin exports one C symbol, sl4j_cuda_plugin(), returning its entry table. The plugin is
// built from the same sources as the library that opens it (class Backend crosses the boundary),
// so the table carries an ABI number the loader checks. Executables that link the CUDA objects
// and the CUDA runtime statically (engine_tests, gpu_bench) define the same symbol themselves;
// the loader then uses it directly and opens nothing.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"

namespace sl4j {

// Bump when this table, class Backend or CudaBackendOptions changes shape.
constexpr uint32_t kCudaPluginAbi = 1;

struct CudaPlugin {
    uint32_t abi;  // kCudaPluginAbi of the sources the plugin was built from
    // Usable devices. 0 when none, and then *why (when not NULL) says why in a few words: no NVIDIA
    // driver, a driver older than the runtime, no device visible. Never throws.
    int (*device_count)(std::string* why);
    // The backend on GPU device_index; throws sl4j::Error (SL4J_ERR_BACKEND) when it is unusable.
    std::unique_ptr<Backend> (*make_backend)(int device_index, const CudaBackendOptions& options);
};

// File name of the plugin, looked for next to libstackllama4j.so unless configured.
constexpr const char* kCudaPluginFile = "libstackllama4j_cuda.so";

// Where the plugin is (empty: next to libstackllama4j.so) and what to say when the CUDA runtime
// cannot be found (empty: a default naming libcudart.so.13). A plugin already opened stays; a
// failed attempt is forgotten, so the next request tries again with these settings.
void configure_cuda_plugin(const std::string& plugin_path, const std::string& runtime_hint);

// Opens the plugin at path: its table, or NULL with *error saying why in one sentence (file
// missing, the CUDA runtime missing, not a plugin of this build). No global state is touched.
const CudaPlugin* open_cuda_plugin(const std::string& path, const std::string& runtime_hint, std::string* error);

// The sentence for a plugin dlopen could not load: dlopen_error is dlerror()'s text.
std::string cuda_plugin_load_error(const std::string& path, const std::string& dlopen_error,
                                   const std::string& runtime_hint);

// Usable CUDA devices (0 without plugin, runtime, driver or GPU), with *why (optional) saying
// why there are none. Never throws.
int cuda_device_count(std::string* why);

}  // namespace sl4j

// The plugin's entry point (extern "C" so dlsym finds it by this name).
extern "C" const sl4j::CudaPlugin* sl4j_cuda_plugin(void);
