#!/usr/bin/python3
"""Self-checks of the reference: quantize -> dequantize round trips in every
type (error within each format's step), hand-built blocks with known values,
GGUF write -> read of every metadata type, and the stories260K reproduction
when ../shared is present. Prints 'N passed, N failed'."""
import os
import struct
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_read as R  # noqa: E402
import gguf_write as W  # noqa: E402

RESULTS = [0, 0]


def check(cond, what):
    RESULTS[0 if cond else 1] += 1
    print(("ok   " if cond else "FAIL ") + what)


def roundtrip():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(4096).astype(np.float32)
    x[128:160] = 0.0                       # an all-zero (sub-)block must stay zero
    x[300] = 9.0                           # an outlier
    # bound on |x - deq(q(x))| relative to the block's max |x|
    # (Q4_0 like ggml maps the largest-magnitude value to -8, so the other sign clips at 7/8: error <= 1/8)
    bounds = {R.GGML_F32: 0.0, R.GGML_F16: 1e-3, R.GGML_BF16: 8e-3, R.GGML_Q8_0: 1 / 127 * 0.51 + 1e-3,
              R.GGML_Q4_0: 1 / 8 + 1e-3, R.GGML_Q4_K: 2 / 15 * 0.6 + 2 / 63,
              R.GGML_Q5_K: 2 / 31 * 0.6 + 2 / 63, R.GGML_Q6_K: 1 / 31 * 0.6 + 1 / 127}
    for t, bound in bounds.items():
        raw = np.frombuffer(W.quantize(x, t), dtype=np.uint8)
        y = R.dequantize(raw, t, x.size)
        bs = max(R.GGML_TYPES[t][1], 32)
        amax = np.abs(x).reshape(-1, bs).max(axis=1, keepdims=True)
        err = (np.abs(y - x).reshape(-1, bs) / np.maximum(amax, 1e-30)).max()
        check(err <= bound and np.all(y[128:160] == 0), "round trip %-5s max err %.4f of block max (bound %.4f)"
              % (R.GGML_TYPES[t][0], err, bound))


def known_blocks():
    # Q8_0: d = 0.5, q = -16..15 -> values -8..7.5
    blk = np.frombuffer(np.float16(0.5).tobytes(), np.uint8).tolist() + [(i - 16) & 0xFF for i in range(32)]
    y = R.dequantize(np.array(blk, np.uint8), R.GGML_Q8_0, 32)
    check(np.array_equal(y, 0.5 * (np.arange(32) - 16)), "Q8_0 hand block")
    # Q4_0: d = 2, qs[j] = j (low) | (15-j) << 4 (high): x[j] = 2(j-8), x[16+j] = 2(7-j)
    qs = [j | ((15 - j) << 4) for j in range(16)]
    blk = np.frombuffer(np.float16(2).tobytes(), np.uint8).tolist() + qs
    y = R.dequantize(np.array(blk, np.uint8), R.GGML_Q4_0, 32)
    exp = np.concatenate([2.0 * (np.arange(16) - 8), 2.0 * (7 - np.arange(16))])
    check(np.array_equal(y, exp), "Q4_0 hand block")
    # Q4_K: d = 1, dmin = 1; sub-block s has scale s+1 (s<4) / 40+s (s>=4), min s (s<4) / 50+s (s>=4)
    sc = [1, 2, 3, 4, 44, 45, 46, 47]
    mn = [0, 1, 2, 3, 54, 55, 56, 57]
    packed = W._pack_k_scales(np.array([sc]), np.array([mn]))[0]
    qs = np.zeros(128, np.uint8)
    for c in range(4):
        qs[32 * c:32 * c + 32] = (np.arange(32) % 16) | ((15 - np.arange(32) % 16) << 4)
    blk = np.concatenate([np.frombuffer(np.float16(1).tobytes(), np.uint8), np.frombuffer(np.float16(1).tobytes(), np.uint8), packed, qs])
    y = R.dequantize(blk, R.GGML_Q4_K, 256).reshape(8, 32)
    exp = np.zeros((8, 32))
    for s in range(8):
        q = np.arange(32) % 16 if s % 2 == 0 else 15 - np.arange(32) % 16
        exp[s] = sc[s] * q - mn[s]
    check(np.array_equal(y, exp), "Q4_K hand block (6-bit scale/min packing, nibble order)")
    # Q6_K: d = 1, all scales 1 except scale[15] = -2; element k has 6-bit code k % 64
    e = np.arange(256) % 64
    raw = np.frombuffer(W.quantize(np.zeros(256, np.float32), R.GGML_Q6_K), np.uint8).copy()
    ql = np.zeros(128, np.uint8)
    qh = np.zeros(64, np.uint8)
    for h in range(2):
        E = e[128 * h:128 * h + 128]
        for l in range(32):
            ql[64 * h + l] = (E[l] & 15) | ((E[l + 64] & 15) << 4)
            ql[64 * h + 32 + l] = (E[l + 32] & 15) | ((E[l + 96] & 15) << 4)
            qh[32 * h + l] = (E[l] >> 4) | ((E[l + 32] >> 4) << 2) | ((E[l + 64] >> 4) << 4) | ((E[l + 96] >> 4) << 6)
    scales = np.ones(16, np.int8)
    scales[15] = -2
    raw = np.concatenate([ql, qh, scales.view(np.uint8), np.frombuffer(np.float16(1).tobytes(), np.uint8)])
    y = R.dequantize(raw, R.GGML_Q6_K, 256)
    exp = (e - 32).astype(np.float64) * np.repeat(scales.astype(np.float64), 16)
    check(np.array_equal(y, exp), "Q6_K hand block (ql/qh interleave, signed scales)")
    # BF16: 0x3FC0 = 1.5, 0xC000 = -2
    y = R.dequantize(np.array([0xC0, 0x3F, 0x00, 0xC0], np.uint8), R.GGML_BF16, 2)
    check(np.array_equal(y, [1.5, -2.0]), "BF16 hand values")


def metadata_roundtrip():
    w = W.GgufWriter()
    w.add("u8", R.GGUF_UINT8, 200)
    w.add("i8", R.GGUF_INT8, -5)
    w.add("u16", R.GGUF_UINT16, 60000)
    w.add("i16", R.GGUF_INT16, -30000)
    w.add("u32", R.GGUF_UINT32, 4000000000)
    w.add("i32", R.GGUF_INT32, -2000000000)
    w.add("f32", R.GGUF_FLOAT32, 1.5)
    w.add("b", R.GGUF_BOOL, True)
    w.add("s", R.GGUF_STRING, "h\u00e9llo \u2581")
    w.add("u64", R.GGUF_UINT64, 2 ** 63 + 1)
    w.add("i64", R.GGUF_INT64, -2 ** 62)
    w.add("f64", R.GGUF_FLOAT64, 0.1)
    w.add_array("as", R.GGUF_STRING, ["a", "", "\u2581b"])
    w.add_array("ai", R.GGUF_INT32, [1, -2, 3])
    w.add_array("ab", R.GGUF_BOOL, [True, False])
    w.add_tensor("t", np.arange(64, dtype=np.float32).reshape(2, 32), R.GGML_Q8_0)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.gguf")
        w.write(p)
        g = R.GgufFile(p)
        m = g.metadata
        ok = (m["u8"] == 200 and m["i8"] == -5 and m["u16"] == 60000 and m["i16"] == -30000
              and m["u32"] == 4000000000 and m["i32"] == -2000000000 and m["f32"] == 1.5 and m["b"] is True
              and m["s"] == "h\u00e9llo \u2581" and m["u64"] == 2 ** 63 + 1 and m["i64"] == -2 ** 62
              and m["f64"] == 0.1 and m["as"] == ["a", "", "\u2581b"] and list(m["ai"]) == [1, -2, 3]
              and m["ab"] == [True, False])
        check(ok, "metadata of all 13 value types written and read back")
        t = g.tensor("t")
        check(t.shape == (2, 32) and np.abs(t - np.arange(64).reshape(2, 32)).max() < 0.26,
              "tensor dims reversed to numpy [2, 32], Q8_0 data read back")
        # a truncated file must fail with the offset in the message
        raw = open(p, "rb").read()
        open(p, "wb").write(raw[:40])
        try:
            R.GgufFile(p)
            check(False, "truncated file rejected")
        except R.GgufError as e:
            check("offset" in str(e), "truncated file rejected: %s" % e)


def stories260K():
    import check_stories260K
    if not os.path.exists(os.path.join(check_stories260K.DIR, "stories260K.gguf")):
        print("skip stories260K: ../shared/models/stories260K absent")
        return
    check(check_stories260K.main() == 0, "stories260K greedy from BOS reproduces the author's sample")


def main():
    roundtrip()
    known_blocks()
    metadata_roundtrip()
    stories260K()
    print("%d passed, %d failed" % tuple(RESULTS))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main())
