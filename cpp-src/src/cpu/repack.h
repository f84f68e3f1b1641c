// Weights repacked for the fast precision's integer kernels (cpu/qdot.h QPacked): the rows of a
// weight matrix interleaved in groups of kRepackRows, so that one vector load holds the same
// stretch of every row of a group. The kernels then keep weight rows in vector lanes (one row per
// 32-bit lane), read a group as one stream and need no per-tile unpacking; the activation rows
// enter as broadcast dwords straight from their quantised blocks.
//
// One layout per weight type, chosen by the type (repack_supported). The repacked bytes are the
// stored bytes rearranged, nothing computed: the layout holds exactly the information of the
// rows (repack_unpack_row gives a row back, bit for bit), plus zero rows that pad the last group.
// It is as large as the rows it holds (the padding aside), so a model that repacks a matrix
// releases the mapped pages of the original (LlamaModel::prepare_fast): memory does not double.
//
// Q4_0 (layout "q4_0x16"): per group of 16 rows, block after block (32 elements each, 288 bytes):
//   uint16_t d[16]          the FP16 scale of row l in d[l] (0 for padding rows)
//   uint8_t  qs[4][16][4]   qs[j][l][t] = byte 4j + t of row l's qs: low nibble element 4j + t,
//                           high nibble element 16 + 4j + t
// A 64-byte load of qs[j] is dword j of all 16 rows; its low nibbles are elements 4j..4j+3 of
// each row (lane l), its high nibbles elements 16 + 4j..16 + 4j + 3: one AND and one shift give
// two vectors of unsigned codes that pair with activation dwords j and j + 4. A 256-bit level
// reads the first and second 32 bytes of each qs[j] as rows 0..7 and 8..15.
//
// A type added here (a K-quant, say) gets its own layout block below, its entry in the
// functions of repack.cpp, and kernels in each level's QPacked.
#pragma once
#include <cstdint>
#include <functional>

namespace sl4j::cpu {

constexpr int kRepackRows = 16;  // rows per group, every layout

// Whether wtype has a repacked layout (today: Q4_0).
bool repack_supported(int32_t wtype);
// Layout name for reports ("q4_0x16"), or nullptr.
const char* repack_name(int32_t wtype);
// Groups of m rows: ceil(m / kRepackRows).
inline int64_t repack_groups(int64_t m) { return (m + kRepackRows - 1) / kRepackRows; }
// Bytes of one group of kRepackRows rows of k elements, and of m rows (whole groups).
int64_t repack_group_bytes(int32_t wtype, int64_t k);
inline int64_t repack_bytes(int32_t wtype, int64_t m, int64_t k) { return repack_groups(m) * repack_group_bytes(wtype, k); }
// Writes groups [g0, g1) of the m rows at src (rows contiguous, k elements each in wtype) to dst
// (repack_bytes(wtype, m, k) bytes; group g at dst + g * repack_group_bytes). Rows past m are zero.
void repack_groups_write(int32_t wtype, const void* src, int64_t m, int64_t k, void* dst, int64_t g0, int64_t g1);
// All groups, on the thread pool, a few MiB of rows at a time; after each such stretch,
// consumed(r0, r1) (when given) says that rows [r0, r1) of src will not be read again (a caller
// releases their pages, so that source and copy are not both resident).
void repack(int32_t wtype, const void* src, int64_t m, int64_t k, void* dst,
            const std::function<void(int64_t, int64_t)>& consumed = nullptr);
// Row r of the repacked matrix back in the stored layout (type_row_bytes(wtype, k) bytes at dst).
void repack_unpack_row(int32_t wtype, const void* packed, int64_t k, int64_t r, void* dst);

// Q4_0 layout: bytes per block of a group, and the offsets in it.
constexpr int64_t kQ4_0x16Block = 288;
constexpr int64_t kQ4_0x16Qs = 32;  // qs[4][16][4] after d[16]

}  // namespace sl4j::cpu
