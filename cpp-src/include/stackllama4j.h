/*
 * stackllama4j.h — the native engine's public C API (the only header JavaCPP parses).
 *
 * Conventions
 *   - Every function that can fail returns an int32_t status (enum sl4j_status); 0 is success.
 *     On failure, sl4j_last_error() returns a message for the calling thread naming the file,
 *     the offset or key, and what was expected. Messages stay valid until the thread's next
 *     failing call.
 *   - Handles are opaque, created by <thing>_init / <thing>_open and released by <thing>_free.
 *     _free accepts NULL. A handle may be used from one thread at a time unless stated.
 *   - Nothing in this library calls exit() or abort(), and no C++ exception crosses this API.
 *   - Shapes use ggml's order: dims[0] is the innermost (contiguous) dimension, so a weight
 *     matrix with m rows of k elements has dims {k, m}.
 *   - Getters that cannot fail return their value directly; string getters return pointers
 *     owned by the handle, valid until it is freed.
 */
#ifndef STACKLLAMA4J_H
#define STACKLLAMA4J_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Status codes                                                                               */
/* ------------------------------------------------------------------------------------------ */
enum sl4j_status {
    SL4J_OK = 0,
    SL4J_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, a negative size, an index out of range     */
    SL4J_ERR_IO = 2,               /* a file could not be opened, mapped, read, written, renamed */
    SL4J_ERR_FORMAT = 3,           /* a file is malformed: truncated, bad magic, bad offsets     */
    SL4J_ERR_UNSUPPORTED = 4,      /* valid input this engine does not handle (a tensor type)   */
    SL4J_ERR_OUT_OF_MEMORY = 5,    /* host or device allocation failed                          */
    SL4J_ERR_BACKEND = 6,          /* the compute device reported an error                      */
    SL4J_ERR_NOT_FOUND = 7,        /* a metadata key or tensor name is absent                   */
    SL4J_ERR_INTERNAL = 8          /* an engine invariant broke: a bug, please report it        */
};

/* Message of the calling thread's last failed call ("" if none). */
const char* sl4j_last_error(void);
/* Symbolic name of a status code ("SL4J_ERR_FORMAT"). */
const char* sl4j_status_name(int32_t status);
/* Engine version string ("0.1.0"). */
const char* sl4j_version(void);
/* One line describing the build and the CPU: SIMD level in use, threads, usable CUDA devices (and
 * why there are none). */
const char* sl4j_system_info(void);
/* The CPU kernels matrix products have run on since the previous call, comma-separated, as
 * op:weight-type/level ("gemv:f32/avx512,qgemm:q4_K/avx512vnni"): gemv / gemm are the exact
 * decode (up to 8 rows) and prefill paths, qgemv / qgemm the fast precision's integer decode and
 * tiled prefill, qgemm_rows its prefill on the per-row kernel (levels without a tile); level amx is
 * the fast prefill on AMX tiles (sl4j_amx_status).
 * Clears the record. The string stays valid until the calling thread's next call. */
const char* sl4j_kernels_ran(void);
/* Whether the fast precision's prefill may use AMX tiles (level "amx" above), and why not, one line:
 * "amx: int8, bf16 (self-test passed)", "amx: unavailable (no AMX-TILE)", "amx: refused by kernel
 * (errno 22: Invalid argument)", "amx: off (SL4J_AMX=0)". Decided once per process, on the first
 * call here or the first fast prefill: CPUID, XCR0, the Linux permission request for the tile
 * state, then a self-test of the hardware kernels against their emulation. Static storage. */
const char* sl4j_amx_status(void);

/* ------------------------------------------------------------------------------------------ */
/* Tensor element types: the ids are ggml's, so GGUF type fields map one to one.               */
/* ------------------------------------------------------------------------------------------ */
enum sl4j_type {
    SL4J_TYPE_F32 = 0,
    SL4J_TYPE_F16 = 1,
    SL4J_TYPE_Q4_0 = 2,
    SL4J_TYPE_Q4_1 = 3,
    SL4J_TYPE_Q5_0 = 6,
    SL4J_TYPE_Q5_1 = 7,
    SL4J_TYPE_Q8_0 = 8,
    SL4J_TYPE_Q8_1 = 9,
    SL4J_TYPE_Q2_K = 10,
    SL4J_TYPE_Q3_K = 11,
    SL4J_TYPE_Q4_K = 12,
    SL4J_TYPE_Q5_K = 13,
    SL4J_TYPE_Q6_K = 14,
    SL4J_TYPE_Q8_K = 15,
    SL4J_TYPE_I8 = 24,
    SL4J_TYPE_I16 = 25,
    SL4J_TYPE_I32 = 26,
    SL4J_TYPE_I64 = 27,
    SL4J_TYPE_F64 = 28,
    SL4J_TYPE_BF16 = 30
};

/* ggml's name of a type ("q4_K"), or NULL for an id ggml does not define. */
const char* sl4j_type_name(int32_t type);
/* Elements per block (1 for F32/F16/BF16, 32 for Q8_0, 256 for k-quants); 0 if unknown. */
int64_t sl4j_type_block_size(int32_t type);
/* Bytes per block; 0 if unknown. */
int64_t sl4j_type_block_bytes(int32_t type);
/* 1 if this engine can dequantize (and so compute with) the type. */
int32_t sl4j_type_is_supported(int32_t type);
/* 1 if sl4j_quantize can produce the type. */
int32_t sl4j_type_can_quantize(int32_t type);

/* Encode n floats (a multiple of the block size) as `type` into dst (dst_bytes long). */
int32_t sl4j_quantize(int32_t type, const float* src, int64_t n, void* dst, int64_t dst_bytes);
/* Decode n elements of `type` from src (src_bytes long) into dst. */
int32_t sl4j_dequantize(int32_t type, const void* src, int64_t src_bytes, float* dst, int64_t n);

/* ------------------------------------------------------------------------------------------ */
/* CPU threads and backends                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Threads of the process-wide CPU pool; 0 means one per core. Safe from any thread. */
int32_t sl4j_set_threads(int32_t n_threads);
int32_t sl4j_get_threads(void);

/* Best-of-`repeats` read bandwidth (GB/s) of a buffer of n_bytes (use one far larger than the
 * caches) read by the CPU pool: the physical floor for decode speed. */
int32_t sl4j_measure_read_bandwidth(int64_t n_bytes, int32_t repeats, double* out_gb_per_s);
/* Best-of-`repeats` copy bandwidth (GB/s) of n_bytes copied between two buffers by the CPU pool
 * (each thread memcpy's one contiguous share), counted as STREAM's Copy counts it: bytes read plus
 * bytes written. */
int32_t sl4j_measure_copy_bandwidth(int64_t n_bytes, int32_t repeats, double* out_gb_per_s);

enum sl4j_device {
    SL4J_DEVICE_CPU = 0,
    SL4J_DEVICE_CUDA = 1,
    SL4J_DEVICE_AUTO = 2 /* CUDA when a usable GPU is present, else CPU */
};

/* Number of usable CUDA devices: 0 when CUDA was not compiled in, the CUDA runtime or the driver
 * is missing, or no GPU is visible. Never fails. */
int32_t sl4j_cuda_device_count(void);

/* The CUDA backend is a plugin, libstackllama4j_cuda.so, the only part of the engine linked to the
 * CUDA runtime (libcudart.so.13). It is opened the first time CUDA is asked for (device CUDA or
 * AUTO, sl4j_cuda_device_count); the CPU path never needs it. By default it is looked for next to
 * libstackllama4j.so. plugin_path (NULL or "": that default) names it elsewhere; runtime_hint (NULL
 * or "": a default naming libcudart.so.13) is the sentence given when the CUDA runtime cannot be
 * found. A plugin already opened stays; a failed attempt is retried with the new settings. */
int32_t sl4j_cuda_configure(const char* plugin_path, const char* runtime_hint);

typedef struct sl4j_backend sl4j_backend;

struct sl4j_backend_params {
    int32_t device;      /* enum sl4j_device. Default SL4J_DEVICE_AUTO.                  */
    int32_t cuda_device; /* index of the GPU when the device is CUDA. Default 0.          */
};
struct sl4j_backend_params sl4j_backend_default_params(void);

/* Create a backend. With SL4J_DEVICE_AUTO and no usable GPU, falls back to the CPU and
 * sl4j_backend_notice() says so in one line. */
int32_t sl4j_backend_init(const struct sl4j_backend_params* params, sl4j_backend** out);
void sl4j_backend_free(sl4j_backend* backend);
/* The device actually in use (SL4J_DEVICE_CPU or SL4J_DEVICE_CUDA). */
int32_t sl4j_backend_device(const sl4j_backend* backend);
/* Human-readable description ("CPU: 2 threads, AVX-512"). */
const char* sl4j_backend_name(const sl4j_backend* backend);
/* A one-line notice about a fallback decision, or "" if there was none. */
const char* sl4j_backend_notice(const sl4j_backend* backend);

/* ------------------------------------------------------------------------------------------ */
/* Tensors: storage owned by a backend. Every op dispatches through the tensors' backend.     */
/* ------------------------------------------------------------------------------------------ */
typedef struct sl4j_tensor sl4j_tensor;

/* Allocate an uninitialised tensor of 1 to 4 dims (ggml order). */
int32_t sl4j_tensor_init(sl4j_backend* backend, int32_t type, int32_t n_dims, const int64_t* dims,
                         sl4j_tensor** out);
void sl4j_tensor_free(sl4j_tensor* tensor);
int32_t sl4j_tensor_type(const sl4j_tensor* tensor);
int32_t sl4j_tensor_n_dims(const sl4j_tensor* tensor);
int64_t sl4j_tensor_dim(const sl4j_tensor* tensor, int32_t axis); /* 1 past n_dims */
int64_t sl4j_tensor_n_elements(const sl4j_tensor* tensor);
int64_t sl4j_tensor_n_bytes(const sl4j_tensor* tensor);
/* Fill from n floats, quantizing to the tensor's type. */
int32_t sl4j_tensor_set_f32(sl4j_tensor* tensor, const float* src, int64_t n);
/* Read all n elements as floats, dequantizing. */
int32_t sl4j_tensor_get_f32(const sl4j_tensor* tensor, float* dst, int64_t n);
/* Raw encoded bytes in and out (n_bytes must equal sl4j_tensor_n_bytes). */
int32_t sl4j_tensor_set_bytes(sl4j_tensor* tensor, const void* src, int64_t n_bytes);
int32_t sl4j_tensor_get_bytes(const sl4j_tensor* tensor, void* dst, int64_t n_bytes);

/* out = x · wᵀ. w: dims {k, m} of any supported type; x: F32 dims {k, n}; out: F32 dims {m, n}.
 * Quantized weights are dequantized on the fly; activations are never quantized, so the result
 * equals the F32 product with the dequantized weights up to summation order. */
int32_t sl4j_matmul(sl4j_tensor* out, const sl4j_tensor* w, const sl4j_tensor* x);

/* ------------------------------------------------------------------------------------------ */
/* GGUF files                                                                                  */
/*                                                                                            */
/* Layout (little-endian), versions 2 and 3:                                                  */
/*   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv                                */
/*   n_kv × { string key | u32 value_type | value }                                           */
/*   n_tensors × { string name | u32 n_dims | u64 dims[n_dims] | u32 type | u64 offset }      */
/*   padding to general.alignment (default 32) | tensor data (offsets relative to its start,  */
/*   each a multiple of the alignment)                                                        */
/*   string = u64 length + bytes (no terminator); array = u32 elem_type + u64 count + elems   */
/* ------------------------------------------------------------------------------------------ */
enum sl4j_gguf_value_type {
    SL4J_GGUF_UINT8 = 0,
    SL4J_GGUF_INT8 = 1,
    SL4J_GGUF_UINT16 = 2,
    SL4J_GGUF_INT16 = 3,
    SL4J_GGUF_UINT32 = 4,
    SL4J_GGUF_INT32 = 5,
    SL4J_GGUF_FLOAT32 = 6,
    SL4J_GGUF_BOOL = 7,
    SL4J_GGUF_STRING = 8,
    SL4J_GGUF_ARRAY = 9,
    SL4J_GGUF_UINT64 = 10,
    SL4J_GGUF_INT64 = 11,
    SL4J_GGUF_FLOAT64 = 12
};

typedef struct sl4j_gguf sl4j_gguf;

/* Open and fully validate a GGUF file; tensor data is memory-mapped, never copied. */
int32_t sl4j_gguf_open(const char* path, sl4j_gguf** out);
void sl4j_gguf_free(sl4j_gguf* gguf);
uint32_t sl4j_gguf_version(const sl4j_gguf* gguf);
uint32_t sl4j_gguf_alignment(const sl4j_gguf* gguf);
/* Absolute file offset of the tensor data section. */
int64_t sl4j_gguf_data_offset(const sl4j_gguf* gguf);
int64_t sl4j_gguf_file_size(const sl4j_gguf* gguf);

int64_t sl4j_gguf_n_kv(const sl4j_gguf* gguf);
/* Index of a key, or -1. */
int64_t sl4j_gguf_find_key(const sl4j_gguf* gguf, const char* key);
const char* sl4j_gguf_kv_key(const sl4j_gguf* gguf, int64_t i);
int32_t sl4j_gguf_kv_type(const sl4j_gguf* gguf, int64_t i); /* enum sl4j_gguf_value_type */
/* Scalar values. Integer getters accept any integer type (and bool) that fits; the float getter
 * accepts FLOAT32/FLOAT64 and integers. A type mismatch is SL4J_ERR_FORMAT naming the key. */
int32_t sl4j_gguf_kv_get_i64(const sl4j_gguf* gguf, int64_t i, int64_t* out);
int32_t sl4j_gguf_kv_get_u64(const sl4j_gguf* gguf, int64_t i, uint64_t* out);
int32_t sl4j_gguf_kv_get_f64(const sl4j_gguf* gguf, int64_t i, double* out);
int32_t sl4j_gguf_kv_get_bool(const sl4j_gguf* gguf, int64_t i, int32_t* out);
/* A STRING value; *out points into the handle. */
int32_t sl4j_gguf_kv_get_str(const sl4j_gguf* gguf, int64_t i, const char** out);
/* Arrays: element type, length, and elements (same conversion rules as the scalars). */
int32_t sl4j_gguf_kv_array_type(const sl4j_gguf* gguf, int64_t i, int32_t* out);
int32_t sl4j_gguf_kv_array_len(const sl4j_gguf* gguf, int64_t i, int64_t* out);
int32_t sl4j_gguf_kv_array_get_i64(const sl4j_gguf* gguf, int64_t i, int64_t j, int64_t* out);
int32_t sl4j_gguf_kv_array_get_f64(const sl4j_gguf* gguf, int64_t i, int64_t j, double* out);
int32_t sl4j_gguf_kv_array_get_str(const sl4j_gguf* gguf, int64_t i, int64_t j, const char** out);
/* Bulk copies of numeric arrays (n must equal the length). */
int32_t sl4j_gguf_kv_array_copy_f32(const sl4j_gguf* gguf, int64_t i, float* dst, int64_t n);
int32_t sl4j_gguf_kv_array_copy_i32(const sl4j_gguf* gguf, int64_t i, int32_t* dst, int64_t n);

int64_t sl4j_gguf_n_tensors(const sl4j_gguf* gguf);
/* Index of a tensor, or -1. */
int64_t sl4j_gguf_find_tensor(const sl4j_gguf* gguf, const char* name);
const char* sl4j_gguf_tensor_name(const sl4j_gguf* gguf, int64_t i);
int32_t sl4j_gguf_tensor_type(const sl4j_gguf* gguf, int64_t i);
int32_t sl4j_gguf_tensor_n_dims(const sl4j_gguf* gguf, int64_t i);
int64_t sl4j_gguf_tensor_dim(const sl4j_gguf* gguf, int64_t i, int32_t axis); /* 1 past n_dims */
/* Offset relative to the data section, and size in bytes. */
int64_t sl4j_gguf_tensor_offset(const sl4j_gguf* gguf, int64_t i);
int64_t sl4j_gguf_tensor_n_bytes(const sl4j_gguf* gguf, int64_t i);
/* Pointer to the tensor's bytes inside the mapping (valid until the handle is freed). */
const void* sl4j_gguf_tensor_data(const sl4j_gguf* gguf, int64_t i);
/* Dequantize a whole tensor into dst (n = its element count). */
int32_t sl4j_gguf_tensor_read_f32(const sl4j_gguf* gguf, int64_t i, float* dst, int64_t n);

typedef struct sl4j_gguf_writer sl4j_gguf_writer;

/* A writer collects metadata and tensors in memory (in insertion order) and writes version 3.
 * Setting an existing key replaces its value in place. */
int32_t sl4j_gguf_writer_init(sl4j_gguf_writer** out);
void sl4j_gguf_writer_free(sl4j_gguf_writer* writer);
int32_t sl4j_gguf_writer_set_u8(sl4j_gguf_writer* w, const char* key, uint8_t value);
int32_t sl4j_gguf_writer_set_i8(sl4j_gguf_writer* w, const char* key, int8_t value);
int32_t sl4j_gguf_writer_set_u16(sl4j_gguf_writer* w, const char* key, uint16_t value);
int32_t sl4j_gguf_writer_set_i16(sl4j_gguf_writer* w, const char* key, int16_t value);
int32_t sl4j_gguf_writer_set_u32(sl4j_gguf_writer* w, const char* key, uint32_t value);
int32_t sl4j_gguf_writer_set_i32(sl4j_gguf_writer* w, const char* key, int32_t value);
int32_t sl4j_gguf_writer_set_u64(sl4j_gguf_writer* w, const char* key, uint64_t value);
int32_t sl4j_gguf_writer_set_i64(sl4j_gguf_writer* w, const char* key, int64_t value);
int32_t sl4j_gguf_writer_set_f32(sl4j_gguf_writer* w, const char* key, float value);
int32_t sl4j_gguf_writer_set_f64(sl4j_gguf_writer* w, const char* key, double value);
int32_t sl4j_gguf_writer_set_bool(sl4j_gguf_writer* w, const char* key, int32_t value);
int32_t sl4j_gguf_writer_set_str(sl4j_gguf_writer* w, const char* key, const char* value);
/* Numeric array: elem_type is a scalar enum sl4j_gguf_value_type, data holds n packed elements. */
int32_t sl4j_gguf_writer_set_arr(sl4j_gguf_writer* w, const char* key, int32_t elem_type,
                                 const void* data, int64_t n);
/* String array: n NUL-terminated strings. */
int32_t sl4j_gguf_writer_set_arr_str(sl4j_gguf_writer* w, const char* key, const char* const* values,
                                     int64_t n);
/* Copy key i (any type, arrays included) from an open file. */
int32_t sl4j_gguf_writer_copy_kv(sl4j_gguf_writer* w, const sl4j_gguf* src, int64_t i);
/* Add a tensor from already-encoded bytes (n_bytes must match type and dims). */
int32_t sl4j_gguf_writer_add_tensor(sl4j_gguf_writer* w, const char* name, int32_t type, int32_t n_dims,
                                    const int64_t* dims, const void* data, int64_t n_bytes);
/* Add a tensor from floats, quantizing them to `type`. */
int32_t sl4j_gguf_writer_add_tensor_f32(sl4j_gguf_writer* w, const char* name, int32_t type,
                                        int32_t n_dims, const int64_t* dims, const float* data,
                                        int64_t n);
/* Write the file atomically: a temporary file beside `path`, fsync, then rename. */
int32_t sl4j_gguf_writer_write(sl4j_gguf_writer* w, const char* path);

/* Tensors produced while sl4j_gguf_writer_write runs. The write streams: the header first, then
 * each tensor's data in turn, produced and encoded a chunk of rows (32 MB of floats) at a time on
 * the CPU pool (sl4j_set_threads), so the writer's memory stays at one chunk whatever the file's
 * size. `type` must be one sl4j_type_can_quantize accepts and dims[0] a multiple of its block. */

/* Values mean + std·N(0, 1) (std 0: the constant mean), deterministic for a seed: row j (dims[0]
 * elements) draws from its own stream keyed by (seed, name, j), whatever the thread count. */
int32_t sl4j_gguf_writer_add_tensor_normal(sl4j_gguf_writer* w, const char* name, int32_t type, int32_t n_dims,
                                           const int64_t* dims, float mean, float std, uint64_t seed);
/* Tensor i of an open file under `name`, re-encoded as `type` (decoded and encoded row by row, or
 * its bytes copied when `type` is its own). The pages read are released as the write goes. The
 * file must stay open until sl4j_gguf_writer_write returns. */
int32_t sl4j_gguf_writer_add_tensor_from(sl4j_gguf_writer* w, const char* name, int32_t type,
                                         const sl4j_gguf* src, int64_t i);
/* Progress of a running sl4j_gguf_writer_write, callable from another thread: tensor bytes
 * written so far and in all (both 0 before the write starts). */
int32_t sl4j_gguf_writer_progress(const sl4j_gguf_writer* w, int64_t* done, int64_t* total);

/* ------------------------------------------------------------------------------------------ */
/* LLaMA models and decoding sessions                                                          */
/* ------------------------------------------------------------------------------------------ */
typedef struct sl4j_model sl4j_model;
typedef struct sl4j_session sl4j_session;

struct sl4j_model_params {
    int32_t device;      /* enum sl4j_device: where the weights live and sessions run. CPU: weights used
                          * in place in the mapped file. CUDA: each tensor uploaded once in its stored
                          * type; fails with SL4J_ERR_BACKEND saying why when no usable GPU is present.
                          * AUTO: CUDA when a usable GPU is present, else CPU; sl4j_model_notice() says
                          * which in one line. LoRA adapters, full-parameter sets and trainers made
                          * for the model live and run there too. Default SL4J_DEVICE_AUTO. */
    int32_t cuda_device; /* index of the GPU for CUDA and AUTO. Default 0. */
};
struct sl4j_model_params sl4j_model_default_params(void);

/* Hyper-parameters read from the file's llama.* metadata. */
struct sl4j_model_info {
    int64_t n_vocab;
    int64_t dim;         /* embedding width                               */
    int64_t n_layers;
    int64_t n_heads;
    int64_t n_kv_heads;  /* < n_heads means grouped-query attention        */
    int64_t head_dim;
    int64_t ffn;         /* SwiGLU hidden width                            */
    int64_t n_rot;       /* dims of each head rotated by RoPE              */
    int64_t n_ctx_train; /* llama.context_length                           */
    double rope_base;
    double rms_eps;
    int32_t tied_output; /* 1 when output.weight is absent (embedding reused) */
    int32_t weight_type; /* type of the attention q weight of layer 0       */
};

/* Load a llama-architecture GGUF. Weights stay memory-mapped in their stored type. Rejects
 * another architecture, an unknown rope scaling type or an unsupported tensor type with
 * SL4J_ERR_UNSUPPORTED, and missing or mis-shaped tensors with SL4J_ERR_FORMAT. A model may be
 * shared by many sessions (read-only); it must outlive them. */
int32_t sl4j_model_load(const char* path, const struct sl4j_model_params* params, sl4j_model** out);
void sl4j_model_free(sl4j_model* model);
/* The device the model's weights and sessions are on (SL4J_DEVICE_CPU or SL4J_DEVICE_CUDA). */
int32_t sl4j_model_device(const sl4j_model* model);
/* Its backend in words ("CPU: 2 threads, AVX-512"); owned by the model. */
const char* sl4j_model_backend_name(const sl4j_model* model);
/* For device AUTO, one line naming the device picked; "" otherwise. Owned by the model. */
const char* sl4j_model_notice(const sl4j_model* model);
/* Bytes of weights held in device memory (0 on the CPU, where they stay in the mapped file). */
int64_t sl4j_model_device_bytes(const sl4j_model* model);
int32_t sl4j_model_get_info(const sl4j_model* model, struct sl4j_model_info* out);
/* Scan every tensor of the model's file, decoded, for a NaN or an infinity: SL4J_OK when all
 * values are finite, else SL4J_ERR_FORMAT with a message naming the file, the first offending
 * tensor, the element and the value. Reads the whole file once (a few seconds for 7B). */
int32_t sl4j_model_check_finite(const sl4j_model* model);

/* How a session's matrix products compute with quantized weights. */
enum sl4j_precision {
    /* Weights dequantized on the fly, F32 activations and sums: equals the product with the
     * dequantized weights up to summation order. The reference: logits, every reference test,
     * and anything a gradient or a log-probability ratio is computed against (training, PPO). */
    SL4J_PRECISION_EXACT = 0,
    /* For Q4_0, Q8_0, Q4_K, Q5_K and Q6_K weights, the activations are quantized to 8 bits once
     * per product (blocks of 32, or 256 for the K-quants, scale max|x|/127) and the products are
     * integer dot products, as llama.cpp computes them. Each product's error is at most half a
     * quantization step of each activation block times the sum of |w| over the block; on the
     * stories260K model in Q8_0 the logits stay within a few 1e-3 of exact's (relative to their
     * largest magnitude). Other weight types compute as EXACT. On the CPU only; a CUDA session
     * always computes as EXACT. */
    SL4J_PRECISION_FAST = 1
};

struct sl4j_session_params {
    int32_t n_seq;     /* sequences decoding side by side. Default 1.                            */
    int32_t n_ctx;     /* positions per sequence. Default 2048.                                   */
    int32_t kv_type;   /* SL4J_TYPE_F16 (default: 2 bytes per cached key/value element, attention
                          decodes them; logits within ~1e-3 of F32's) or SL4J_TYPE_F32 (exact).    */
    int32_t precision; /* enum sl4j_precision. Default SL4J_PRECISION_EXACT; generation and
                          scoring that only sample or rank may choose SL4J_PRECISION_FAST.        */
};
struct sl4j_session_params sl4j_session_default_params(void);

/* A session holds a KV cache for n_seq sequences of up to n_ctx positions each:
 * 2 · n_layers · n_seq · n_ctx · kv_dim elements of kv_type. One thread at a time per session;
 * sessions of the same model may run on different threads. */
int32_t sl4j_session_init_params(sl4j_model* model, const struct sl4j_session_params* params, sl4j_session** out);
/* sl4j_session_init_params with the default KV type (F16). */
int32_t sl4j_session_init(sl4j_model* model, int32_t n_seq, int32_t n_ctx, sl4j_session** out);
/* Bytes of the session's KV cache (-1 for NULL). */
int64_t sl4j_session_kv_bytes(const sl4j_session* session);
void sl4j_session_free(sl4j_session* session);
/* Run the model over n_tokens tokens. Token i is appended to sequence seq_ids[i] (NULL: all 0) at
 * that sequence's next position, tokens of one sequence in order. Rows with outputs[i] != 0 (NULL:
 * every row) produce outputs, in row order: the final hidden state (after the output norm) and,
 * if want_logits, the logits. doc_start (NULL: 0) gives per row the first position it may attend
 * to, which isolates documents packed into one sequence. On failure the cache is unchanged. */
int32_t sl4j_session_decode(sl4j_session* session, const int32_t* tokens, const int32_t* seq_ids,
                            const int8_t* outputs, const int64_t* doc_start, int32_t n_tokens,
                            int32_t want_logits);
/* Output rows of the last decode. */
int32_t sl4j_session_n_outputs(const sl4j_session* session);
/* Copy the last decode's logits (n = n_outputs * n_vocab) or hidden states (n_outputs * dim). */
int32_t sl4j_session_get_logits(const sl4j_session* session, float* dst, int64_t n);
int32_t sl4j_session_get_hidden(const sl4j_session* session, float* dst, int64_t n);
/* Log-probability of targets[i] under output row i's distribution, for n = n_outputs rows. */
int32_t sl4j_session_get_logprobs(const sl4j_session* session, const int32_t* targets, float* dst, int32_t n);
/* Positions filled in a sequence, or -1 for a bad index. */
int32_t sl4j_session_length(const sl4j_session* session, int32_t seq);
/* Forget a sequence's positions from len on (len 0 clears it); seq -1 with len 0 clears all. */
int32_t sl4j_session_truncate(sl4j_session* session, int32_t seq, int32_t len);


/* ------------------------------------------------------------------------------------------ */
/* Token sampling on the native side: a generation loop picks each next token (and its        */
/* log-probability and top-n alternatives) from a session's logits without copying them out. */
/* ------------------------------------------------------------------------------------------ */
typedef struct sl4j_sampler sl4j_sampler;

/* Applied in this order: logit bias, penalties, the banned token; then greedy (temperature 0) or
 * temperature, top-k, top-p, min-p and a seeded draw. */
struct sl4j_sampler_params {
    float temperature;       /* 0 = greedy (argmax). Default 1.                                   */
    int32_t top_k;           /* keep the k most likely tokens; 0 = off. Default 0.               */
    float top_p;             /* keep the smallest set reaching this probability; 1 = off. Default 1. */
    float min_p;             /* keep tokens with p >= min_p * p(most likely); 0 = off. Default 0. */
    float repeat_penalty;    /* CTRL-style: a seen token's logit / rp if > 0, else * rp; 1 = off. Default 1. */
    float frequency_penalty; /* logit -= frequency_penalty * occurrences in the window. Default 0. */
    float presence_penalty;  /* logit -= presence_penalty once a token occurs in the window. Default 0. */
    int32_t penalty_last_n;  /* accepted tokens the penalties look back on; -1 = all. Default 64. */
    uint64_t seed;           /* the draw's random stream (splitmix64). Default 0.                 */
};
struct sl4j_sampler_params sl4j_sampler_default_params(void);

/* A sampler for one sequence (its penalty window and random stream), sized to the model's vocabulary. */
int32_t sl4j_sampler_init(const sl4j_model* model, const struct sl4j_sampler_params* params, sl4j_sampler** out);
void sl4j_sampler_free(sl4j_sampler* sampler);
/* bias[i] is added to the logit of tokens[i] (replacing an earlier bias); -INFINITY bans it. */
int32_t sl4j_sampler_set_logit_bias(sl4j_sampler* sampler, const int32_t* tokens, const float* bias, int32_t n);
/* Record a token in the penalty window (each generated token; prompt tokens if the caller wants). */
int32_t sl4j_sampler_accept(sl4j_sampler* sampler, int32_t token);
/* Pick a token from output row `row` of the session's last decode (which computed logits).
 * banned: a token that must not be picked (EOS before a minimum length), or -1. *token receives
 * the pick, *logprob (may be NULL) its log-probability under the model's distribution (the raw
 * logits, before bias, penalties and temperature). With n_top > 0, top_ids / top_logprobs receive
 * the n_top most probable tokens under that distribution, most probable first. The pick is not
 * accepted into the penalty window: call sl4j_sampler_accept. With n_top = 0 the session's backend
 * picks (on a GPU only the token and its log-prob come back); n_top > 0 reads the row on the host. */
int32_t sl4j_sampler_sample(sl4j_sampler* sampler, const sl4j_session* session, int32_t row, int32_t banned,
                            int32_t n_top, int32_t* token, float* logprob, int32_t* top_ids, float* top_logprobs);
/* n picks from the session's last decode in one call: pick i from output row rows[i] with
 * samplers[i] (a sampler named twice draws twice, in order), banned[i] excluded (-1: none; banned may be NULL).
 * tokens[i] and logprobs[i] (logprobs may be NULL) receive them, as sl4j_sampler_sample with
 * n_top = 0 would, pick by pick. On a GPU the picks' controls go up and only the n tokens and
 * log-probs come back, in one transfer each. The picks are not accepted into the windows. */
int32_t sl4j_sampler_sample_batch(sl4j_sampler* const* samplers, const sl4j_session* session, const int32_t* rows,
                                  const int32_t* banned, int32_t n, int32_t* tokens, float* logprobs);

/* ------------------------------------------------------------------------------------------ */
/* Training: LoRA adapters over a frozen base, training forward/backward, AdamW               */
/*                                                                                            */
/* A LoRA adapter adds to chosen projections of every layer y = W·x + (alpha/r)·B·A·drop(x),  */
/* A: r × in (init U(±1/sqrt(in)), PEFT's kaiming-uniform), B: out × r (init 0). The base    */
/* model stays frozen in its stored type (quantized included); only A and B are trainable.   */
/* Tensor names and shapes are those of llama.cpp's LoRA GGUF: "blk.N.attn_q.weight.lora_a"  */
/* with ggml dims {in, r} and "blk.N.attn_q.weight.lora_b" with dims {r, out}; the data is    */
/* row-major A (r rows of in) and B (out rows of r), so it can be written to such a file as   */
/* F32 as is, with general.type = "adapter", general.architecture = "llama" (llama.cpp       */
/* checks it against the model), adapter.type = "lora" and adapter.lora.alpha (f32).         */
/*                                                                                            */
/* Full-parameter training uses the same handle type: sl4j_lora_init_full makes every weight  */
/* of the model trainable (decoded to F32): "token_embd.weight", per layer "blk.N.attn_norm.  */
/* weight", attn_q/k/v/output, ffn_norm, ffn_gate/up/down, then "output_norm.weight" and,     */
/* when untied, "output.weight"; matrices have ggml dims {in, out}, norms {dim, 1}. A tied    */
/* output is the embedding table: one tensor receives both gradients. The model file is not   */
/* changed; write the values out as a new GGUF.                                               */
/*                                                                                            */
/* Both live in the model's backend memory (the GPU for a model loaded there): values,        */
/* gradients and AdamW state are uploaded once when made and stay there through training;     */
/* sl4j_lora_get/set download/upload one field, the norm functions bring back one scalar per  */
/* tensor, and AdamW, clipping and zeroing run on the backend.                                */
/* ------------------------------------------------------------------------------------------ */
typedef struct sl4j_lora sl4j_lora;
typedef struct sl4j_trainer sl4j_trainer;

/* Bits of sl4j_lora_params.targets; the GGUF names are attn_q, attn_k, attn_v, attn_output,
 * ffn_gate, ffn_up, ffn_down. */
enum sl4j_lora_target {
    SL4J_LORA_Q = 1 << 0,
    SL4J_LORA_K = 1 << 1,
    SL4J_LORA_V = 1 << 2,
    SL4J_LORA_O = 1 << 3,
    SL4J_LORA_GATE = 1 << 4,
    SL4J_LORA_UP = 1 << 5,
    SL4J_LORA_DOWN = 1 << 6
};

struct sl4j_lora_params {
    int32_t r;        /* rank. Default 16.                                                  */
    float alpha;      /* scale = alpha / r. Default 32.                                     */
    float dropout;    /* probability of dropping an adapter input element in training.
                         Default 0.05. Masks come from seed and a per-forward counter.      */
    uint32_t targets; /* OR of enum sl4j_lora_target. Default SL4J_LORA_Q | SL4J_LORA_V.    */
    uint64_t seed;    /* initialisation of A and dropout masks. Default 42.                 */
};
struct sl4j_lora_params sl4j_lora_default_params(void);

/* Create an adapter shaped for the model (A random, B zero, gradients and AdamW state zero). */
int32_t sl4j_lora_init(const sl4j_model* model, const struct sl4j_lora_params* params, sl4j_lora** out);
/* Every weight of the model as trainable F32 tensors (values decoded from the model, gradients
 * and AdamW state zero). The tensor, gradient, clipping and AdamW functions below apply; a
 * trainer made with it trains the whole network. */
int32_t sl4j_lora_init_full(const sl4j_model* model, sl4j_lora** out);
/* 1 when made by sl4j_lora_init_full, else 0 (also for NULL). */
int32_t sl4j_lora_is_full(const sl4j_lora* lora);
void sl4j_lora_free(sl4j_lora* lora);
/* SL4J_ERR_INVALID_ARGUMENT for full parameters. */
int32_t sl4j_lora_get_params(const sl4j_lora* lora, struct sl4j_lora_params* out);

/* Trainable tensors, per layer then per target (q,k,v,o,gate,up,down order), A before B. */
int64_t sl4j_lora_n_tensors(const sl4j_lora* lora);
/* "blk.N.<target>.weight.lora_a|lora_b", or NULL for a bad index. */
const char* sl4j_lora_tensor_name(const sl4j_lora* lora, int64_t i);
/* ggml dims: dims[0] = in (A) or r (B), dims[1] = r (A) or out (B). */
int32_t sl4j_lora_tensor_dims(const sl4j_lora* lora, int64_t i, int64_t dims[2]);
int64_t sl4j_lora_tensor_n_elements(const sl4j_lora* lora, int64_t i); /* -1 for a bad index */
/* Index of a tensor by name, or -1. */
int64_t sl4j_lora_find_tensor(const sl4j_lora* lora, const char* name);

/* What sl4j_lora_get/set read or write: the value, its accumulated gradient, AdamW's moments. */
enum sl4j_lora_field {
    SL4J_LORA_VALUE = 0,
    SL4J_LORA_GRAD = 1,
    SL4J_LORA_ADAM_M = 2,
    SL4J_LORA_ADAM_V = 3
};
/* Copy n = n_elements floats of tensor i's field out of / into the adapter (on a GPU: one
 * download / upload of that field). */
int32_t sl4j_lora_get(const sl4j_lora* lora, int64_t i, int32_t field, float* dst, int64_t n);
int32_t sl4j_lora_set(sl4j_lora* lora, int64_t i, int32_t field, const float* src, int64_t n);

/* Gradients accumulate over training steps until zeroed. */
int32_t sl4j_lora_zero_grad(sl4j_lora* lora);
/* L2 norm over all gradients (per tensor a sum of squares in float64, the sums added in order). */
int32_t sl4j_lora_grad_norm(const sl4j_lora* lora, double* out);
/* torch.nn.utils.clip_grad_norm_: scale gradients by max_norm / (norm + 1e-6), rounded to F32,
 * when below 1;
 * *pre_clip_norm (may be NULL) receives the norm before clipping. */
int32_t sl4j_lora_clip_grad_norm(sl4j_lora* lora, double max_norm, double* pre_clip_norm);

/* Merging into a GGUF being written (streamed as sl4j_gguf_writer_add_tensor_normal describes):
 * tensor i of src (a matrix, dims {in, out}) with a LoRA pair folded in: W + (alpha/r)·B·A with A
 * the adapter's tensor a_index (r × in) and B tensor a_index + 1 (out × r), each element's sum over
 * the rank in float64, encoded as `type`. The pair is read (downloaded) here; the file must outlive
 * the write. */
int32_t sl4j_gguf_writer_add_tensor_lora_merged(sl4j_gguf_writer* w, const char* name, int32_t type,
                                                const sl4j_gguf* src, int64_t i, const sl4j_lora* lora,
                                                int64_t a_index);

struct sl4j_adamw_params {
    float lr;           /* learning rate of this step (the caller owns schedules). Default 1e-4. */
    float beta1;        /* Default 0.9.    */
    float beta2;        /* Default 0.999.  */
    float eps;          /* Default 1e-8.   */
    float weight_decay; /* decoupled, p -= lr·wd·p before the Adam update. Default 0.01. */
};
struct sl4j_adamw_params sl4j_adamw_default_params(void);

/* One torch.optim.AdamW step on every adapter tensor with its gradient (does not zero it). */
int32_t sl4j_lora_adamw_step(sl4j_lora* lora, const struct sl4j_adamw_params* params);
/* AdamW steps taken so far (bias correction); set it when restoring a checkpoint. */
int64_t sl4j_lora_adamw_steps(const sl4j_lora* lora);
int32_t sl4j_lora_set_adamw_steps(sl4j_lora* lora, int64_t steps);
/* The same update on caller-owned arrays (a value head trained from Java): step is 1-based. */
int32_t sl4j_adamw_update_f32(float* param, const float* grad, float* m, float* v, int64_t n, int64_t step,
                              const struct sl4j_adamw_params* params);

/* Run a session's projections with an adapter, merged on the fly (W·x + scale·B·A·x, no
 * dropout); lora NULL detaches, enabled 0 runs the base model. The adapter must outlive the
 * attachment and is read, not changed; it must be made for a model on the session's backend
 * (SL4J_ERR_INVALID_ARGUMENT otherwise). */
int32_t sl4j_session_set_lora(sl4j_session* session, const sl4j_lora* lora, int32_t enabled);

struct sl4j_trainer_params {
    int32_t batch;         /* sequences per call. Default 1.                                  */
    int32_t seq_len;       /* tokens per sequence (packed, fixed). Default 1024.               */
    int32_t checkpointing; /* 1: keep only each layer's input, recompute it in backward. Default 0. */
};
struct sl4j_trainer_params sl4j_trainer_default_params(void);

/* A trainer runs batch × seq_len tokens through model + adapter (no KV cache) on the model's
 * backend (the GPU for a model loaded there). Its buffers are sized once here, in that backend's
 * memory. lora may be NULL (forward only: the base model), or full parameters of this model
 * (sl4j_lora_init_full): then the network is their current values and every one trains. The
 * adapter must be made for a model on the same backend (SL4J_ERR_INVALID_ARGUMENT otherwise).
 * Per call only the arrays passed in are uploaded and only the outputs asked for (the loss,
 * log-probs, hidden states, entropy, KL) are downloaded. */
int32_t sl4j_trainer_init(const sl4j_model* model, sl4j_lora* lora, const struct sl4j_trainer_params* params,
                          sl4j_trainer** out);
void sl4j_trainer_free(sl4j_trainer* trainer);
/* 0: the adapter is bypassed (the base model: a PPO reference policy); backward is refused. */
int32_t sl4j_trainer_set_adapter_enabled(sl4j_trainer* trainer, int32_t enabled);
/* 1 (default): dropout active. 0: evaluation (no dropout). */
int32_t sl4j_trainer_set_training(sl4j_trainer* trainer, int32_t training);
/* 1: sl4j_trainer_forward and sl4j_trainer_infer also compute, per row whose target is not -100,
 * the entropy -Σ p log p of the next-token distribution p = softmax(logits), read with
 * sl4j_trainer_entropy (PPO's ppo/policy/entropy). Default 0: it costs one more pass over every
 * row of logits. */
int32_t sl4j_trainer_set_entropy(sl4j_trainer* trainer, int32_t on);
/* dst (batch·seq_len): the entropy of each row of the last forward, 0 where the target was -100.
 * Fails with SL4J_ERR_INVALID_ARGUMENT when entropy was off. */
int32_t sl4j_trainer_entropy(const sl4j_trainer* trainer, float* dst);
/* Forward passes run so far (the dropout masks' counter, -1 for NULL); a checkpoint saves it and
 * a resumed run restores it, so the resumed run draws the masks an uninterrupted one would. */
int64_t sl4j_trainer_forward_count(const sl4j_trainer* trainer);
int32_t sl4j_trainer_set_forward_count(sl4j_trainer* trainer, int64_t count);

/* Common arguments, arrays of batch·seq_len rows, row = sequence·seq_len + position:
 *   tokens     input ids.
 *   targets    the id each row predicts (labels already shifted: for packed SFT targets[t] =
 *              tokens[t+1]), or -100 to leave the row out of the loss.
 *   doc_start  NULL, or per row the first position of its sequence it may attend to (packed
 *              documents isolated: --no-cross-doc-attention). Positions keep counting. */

/* Native loss: forward, mean cross-entropy over rows whose target is not -100, and backward:
 * adapter gradients += grad_scale · d(mean loss). *loss and *n_counted (either may be NULL)
 * receive the mean loss and the number of counted rows. With no counted row the loss is 0 and
 * no gradient is added. grad_scale: e.g. 1/grad_accum. */
int32_t sl4j_trainer_step_ce(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                             const int64_t* doc_start, float grad_scale, double* loss, int64_t* n_counted);
/* The same without backward (eval loss; perplexity = exp(loss)). */
int32_t sl4j_trainer_eval_ce(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                             const int64_t* doc_start, double* loss, int64_t* n_counted);

/* Loss computed by the caller: forward, then logprobs[row] = log p(targets[row]) (0 where the
 * target is -100) and hidden (NULL, or batch·seq_len·dim floats) = final hidden states after the
 * output norm. Keeps what sl4j_trainer_backward needs. */
int32_t sl4j_trainer_forward(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                             const int64_t* doc_start, float* logprobs, float* hidden);
/* The same outputs as sl4j_trainer_forward, computed as inference: layer by layer through one
 * layer's buffers, nothing kept for a backward (none may follow), the logits reduced to the
 * targets' log-probs one chunk of rows at a time. Results equal sl4j_trainer_forward's bit for
 * bit; a trainer used only this way never allocates per-layer activations. For the no-grad
 * passes of PPO (old and reference log-probs, values) and reward scoring. */
int32_t sl4j_trainer_infer(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                           const int64_t* doc_start, float* logprobs, float* hidden);
/* The exact KL(policy ‖ reference) of the next-token distributions, the policy being the model
 * with the trainer's adapter and the reference the model without it: kl[row] = Σ_v p(v)(log p(v) -
 * log q(v)) for rows whose target is not -100 (only which rows count is read), 0 elsewhere. Two
 * inference passes (no dropout; the dropout-mask counter is left as it was) and the output head
 * over the counted rows only, both logits of a chunk at a time: no row of logits is returned. The
 * trainer needs an adapter; no backward may follow. PPO's `full` KL estimator. */
int32_t sl4j_trainer_infer_kl(sl4j_trainer* trainer, const int32_t* tokens, const int32_t* targets,
                              const int64_t* doc_start, float* kl);
/* Bytes the trainer's backend buffers hold now (activations, scratch, logits chunk, outputs). */
int64_t sl4j_trainer_buffer_bytes(const sl4j_trainer* trainer);
/* Backward of the last sl4j_trainer_forward (once per forward): d_logprobs (batch·seq_len, NULL =
 * none) and d_hidden (batch·seq_len·dim, NULL = none) are d loss / d those outputs; adapter
 * gradients += grad_scale · the resulting gradients. */
int32_t sl4j_trainer_backward(sl4j_trainer* trainer, const float* d_logprobs, const float* d_hidden,
                              float grad_scale);

/* ------------------------------------------------------------------------------------------ */
/* Memory plans: the peak bytes of a command, by part, before it allocates                     */
/* ------------------------------------------------------------------------------------------ */
enum sl4j_plan_mode {
    SL4J_PLAN_GENERATE = 0, /* a decoding session (generate, bench, score with a session)         */
    SL4J_PLAN_SFT = 1,      /* LoRA training with the native cross-entropy (sft)                  */
    SL4J_PLAN_REWARD = 2,   /* LoRA + scalar head on sequence scores (train-reward)               */
    SL4J_PLAN_PPO = 3,      /* rollout session + no-grad passes + LoRA training (ppo)             */
    SL4J_PLAN_FULL = 4      /* every weight trainable (pretrain, sft --full): an F32 copy of each
                               weight with its gradient and AdamW moments; lora_r is unused        */
};

struct sl4j_memory_plan_params {
    int32_t mode;           /* enum sl4j_plan_mode. Default SL4J_PLAN_GENERATE.                      */
    int64_t weight_bytes;   /* bytes of the model file: mmapped, resident once every layer has run.
                               A `fast` session on the CPU holds the Q4_0 matrices repacked in memory
                               the model owns instead of their mapped pages (the same bytes, plus at
                               most 15 zero rows per matrix); exact products on the same model read
                               the mapped original back, and then both are resident.               */
    int64_t extra_bytes;    /* other resident bytes: a second model (PPO's reward trunk) and its
                               adapter. Default 0.                                                   */
    int64_t runtime_bytes;  /* the process before it loads anything (a JVM's heap and code).
                               Default 0; the CLI passes its measured baseline.                     */
    int32_t batch;          /* sequences per training call: sft batch, 2 x reward pairs, PPO mini-batch. */
    int32_t seq_len;        /* tokens per training sequence (PPO and reward: the padded bucket).     */
    int32_t checkpointing;  /* 1: keep only each layer's input (sl4j_trainer_params). Default 0.     */
    int32_t lora_r;         /* LoRA rank. Default 16. Unused by SL4J_PLAN_FULL.                      */
    uint32_t lora_targets;  /* enum sl4j_lora_target bits. Default Q | V.                            */
    int32_t infer_batch;    /* sequences of the no-grad passes (PPO: batch; reward: eval); 0 = none. */
    int32_t infer_seq_len;  /* their padded length.                                                  */
    int32_t kv_seqs;        /* sequences of a decoding session (0 = none).                          */
    int32_t kv_ctx;         /* its positions per sequence.                                           */
    int32_t kv_type;        /* SL4J_TYPE_F16 (default) or SL4J_TYPE_F32.                             */
    int32_t prefill_rows;   /* rows of its largest decode call (all prompts at once).               */
    int32_t full_kl;        /* 1: PPO's `full` KL estimator (sl4j_trainer_infer_kl): the no-grad
                               trainer also keeps both passes' hidden states and a second logits
                               chunk. Default 0.                                                      */
    int32_t device;         /* enum sl4j_device the command runs on. Default SL4J_DEVICE_CPU: every
                               part is host memory and the result's device is 0. SL4J_DEVICE_CUDA
                               (AUTO is planned as CUDA): the weights as uploaded, the KV cache,
                               activations, trainable values, gradients, optimizer state, logits
                               chunks and the trainers' and session's scratch are device bytes, plus
                               SL4J_PLAN_CUDA_RESERVE_BYTES; the host keeps the runtime, the mapped
                               model file (it stays mapped after the upload) and the caller's
                               hidden-state copies.                                                   */
};
struct sl4j_memory_plan_params sl4j_memory_plan_default_params(void);

/* Device bytes a CUDA plan adds for the CUDA context, the engine's kernels and the allocator's
 * slack. An estimate (a CUDA context with its modules loaded takes some hundreds of MiB), not a
 * measurement. */
#define SL4J_PLAN_CUDA_RESERVE_BYTES (1024ll * 1024 * 1024)

/* Bytes by part; on the CPU total is their sum. Activations are what the training forward keeps for the
 * backward with the chosen checkpointing, and the figures with and without it. Scratch: one
 * layer's buffers of each trainer, the backward's scratch, the session's decode buffers and the
 * caller's hidden-state copies. */
struct sl4j_memory_plan_result {
    int64_t weights;                  /* weight_bytes + extra_bytes                               */
    int64_t kv_cache;                 /* the session's KV cache                                   */
    int64_t activations;              /* kept for the backward (checkpointing as requested)       */
    int64_t activations_full;         /* the same without checkpointing                           */
    int64_t activations_checkpointed; /* the same with checkpointing                              */
    int64_t lora;                     /* trainable values: the adapter's, or (SL4J_PLAN_FULL) the
                                         F32 copy of every weight (the mmapped file stays too)    */
    int64_t gradients;                /* their gradients                                          */
    int64_t optimizer;                /* AdamW moments (2 per value)                              */
    int64_t logits_chunk;             /* the output head's chunk of logits (each trainer's)       */
    int64_t scratch;                  /* see above                                                */
    int64_t runtime;                  /* runtime_bytes                                            */
    int64_t device_reserve;           /* SL4J_PLAN_CUDA_RESERVE_BYTES on CUDA, else 0              */
    int64_t total;                    /* host bytes at the peak. CPU: the sum of the parts above.
                                         CUDA: runtime + weights (the mapped file) + the caller's
                                         hidden-state copies (part of scratch)                    */
    int64_t device;                   /* device bytes at the peak: 0 on the CPU. CUDA: weights,
                                         kv_cache, activations, lora, gradients, optimizer,
                                         logits_chunk, the scratch less the caller's copies, and
                                         device_reserve. So device + total = the CPU plan's total
                                         + weights (held on both sides) + device_reserve.          */
};

/* Plan of a command on a model of this shape (sl4j_model_get_info, or hand-filled; tied_output
 * matters to SL4J_PLAN_FULL only). */
int32_t sl4j_memory_plan(const struct sl4j_model_info* info, const struct sl4j_memory_plan_params* params,
                         struct sl4j_memory_plan_result* out);

#ifdef __cplusplus
}
#endif

#endif /* STACKLLAMA4J_H */
