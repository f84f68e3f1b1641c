#include "model/finite_check.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/types.h"
#include "quant/quant.h"

namespace sl4j {

int64_t find_nonfinite(const GgufFile& f, int64_t* element, float* value) {
    const int64_t chunk_blocks = 256;
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    std::vector<float> buf;
    for (int64_t i = 0; i < static_cast<int64_t>(f.tensors().size()); ++i) {
        const GgufTensorInfo& t = f.tensors()[static_cast<size_t>(i)];
        const TypeTraits* tt = type_traits(t.type);
        if (tt == nullptr || !tt->supported) continue;
        const int64_t n = t.n_elements(), bs = tt->block_size;
        if (n % bs != 0) continue;  // the reader already refused such a tensor
        const uint8_t* data = f.tensor_data(i);
        uintptr_t released = uintptr_t(data);
        const int64_t step = chunk_blocks * bs;
        buf.resize(static_cast<size_t>(std::min(step, n)));
        for (int64_t at = 0; at < n; at += step) {
            const int64_t len = std::min(step, n - at);
            const uint8_t* bytes = data + (at / bs) * tt->type_size;
            dequantize_row(t.type, bytes, buf.data(), len);
            // Whole pages read leave the process's resident set (they stay in the page cache): the
            // check holds a chunk, not the file, and a memory plan measured after load does not
            // count the weights twice.
            const uintptr_t end = uintptr_t(bytes + len / bs * tt->type_size) / page * page;
            if (end > released) {
                f.release(reinterpret_cast<const void*>(released), uint64_t(end - released));
                released = end;
            }
            for (int64_t k = 0; k < len; ++k) {
                if (!std::isfinite(buf[static_cast<size_t>(k)])) {
                    *element = at + k;
                    *value = buf[static_cast<size_t>(k)];
                    return i;
                }
            }
        }
    }
    return -1;
}

}  // namespace sl4j
