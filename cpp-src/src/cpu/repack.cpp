#include "cpu/repack.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/types.h"
#include "cpu/threadpool.h"
#include "quant/blocks.h"
#include "stackllama4j.h"

namespace sl4j::cpu {

static_assert(kQ4_0x16Block == kRepackRows * (int64_t)sizeof(block_q4_0), "q4_0x16: 16 rows of a block, no more");
static_assert(kQ4_0x16Qs == kRepackRows * 2, "q4_0x16: the 16 FP16 scales come first");

bool repack_supported(int32_t wtype) { return wtype == SL4J_TYPE_Q4_0; }

const char* repack_name(int32_t wtype) { return wtype == SL4J_TYPE_Q4_0 ? "q4_0x16" : nullptr; }

namespace {
void check_type(const char* op, int32_t wtype, int64_t k) {
    if (!repack_supported(wtype))
        SL4J_FAIL(SL4J_ERR_UNSUPPORTED, "%s: weight type %d has no repacked layout", op, wtype);
    SL4J_CHECK_ARG(k >= 0 && k % type_traits(wtype)->block_size == 0, "%s: k=%lld is not a multiple of the block size",
                   op, (long long)k);
}
}  // namespace

int64_t repack_group_bytes(int32_t wtype, int64_t k) {
    check_type("repack_group_bytes", wtype, k);
    return k / QK4_0 * kQ4_0x16Block;
}

void repack_groups_write(int32_t wtype, const void* src, int64_t m, int64_t k, void* dst, int64_t g0, int64_t g1) {
    check_type("repack", wtype, k);
    const int64_t nb = k / QK4_0, gb = repack_group_bytes(wtype, k);
    for (int64_t g = g0; g < g1; ++g) {
        uint8_t* out = static_cast<uint8_t*>(dst) + g * gb;
        for (int64_t b = 0; b < nb; ++b) {
            uint8_t* blk = out + b * kQ4_0x16Block;
            for (int l = 0; l < kRepackRows; ++l) {
                const int64_t r = g * kRepackRows + l;
                block_q4_0 w{};  // padding row: d = 0, codes 0
                if (r < m) std::memcpy(&w, static_cast<const block_q4_0*>(src) + r * nb + b, sizeof w);
                std::memcpy(blk + 2 * l, &w.d, 2);
                for (int j = 0; j < 4; ++j) std::memcpy(blk + kQ4_0x16Qs + (j * kRepackRows + l) * 4, w.qs + 4 * j, 4);
            }
        }
    }
}

void repack(int32_t wtype, const void* src, int64_t m, int64_t k, void* dst,
            const std::function<void(int64_t, int64_t)>& consumed) {
    check_type("repack", wtype, k);
    const int64_t groups = repack_groups(m), gb = std::max<int64_t>(1, repack_group_bytes(wtype, k));
    const int64_t stretch = std::max<int64_t>(1, (4 << 20) / gb);  // groups per ~4 MiB
    for (int64_t s0 = 0; s0 < groups; s0 += stretch) {
        const int64_t s1 = std::min(groups, s0 + stretch);
        parallel_for(s1 - s0, std::max<int64_t>(1, 65536 / gb), [&](int64_t g0, int64_t g1) {
            repack_groups_write(wtype, src, m, k, dst, s0 + g0, s0 + g1);
        });
        if (consumed) consumed(s0 * kRepackRows, std::min(m, s1 * kRepackRows));
    }
}

void repack_unpack_row(int32_t wtype, const void* packed, int64_t k, int64_t r, void* dst) {
    check_type("repack_unpack_row", wtype, k);
    const int64_t nb = k / QK4_0, g = r / kRepackRows, l = r % kRepackRows;
    const uint8_t* in = static_cast<const uint8_t*>(packed) + g * repack_group_bytes(wtype, k);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = in + b * kQ4_0x16Block;
        block_q4_0 w;
        std::memcpy(&w.d, blk + 2 * l, 2);
        for (int j = 0; j < 4; ++j) std::memcpy(w.qs + 4 * j, blk + kQ4_0x16Qs + (j * kRepackRows + l) * 4, 4);
        std::memcpy(static_cast<block_q4_0*>(dst) + b, &w, sizeof w);
    }
}

}  // namespace sl4j::cpu
