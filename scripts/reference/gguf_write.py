#!/usr/bin/python3
"""Plain GGUF v3 writer and simple numpy quantizers (reference, not fast).

The quantizers only need to produce *valid* blocks in ggml's layouts (the
fixtures are computed on the dequantized weights), so they use the simplest
scale choices (max-abs / min-max), not ggml's error-minimising searches.
Each packs exactly what gguf_read.py's dequantizer unpacks.
"""
import struct

import numpy as np

import gguf_read as R

ALIGNMENT = 32


# ---- metadata encoding ----

def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == R.GGUF_STRING:
        return _str(v)
    if vtype in R.SCALAR_FMT:
        return struct.pack(R.SCALAR_FMT[vtype], v)
    raise ValueError("cannot encode value type %d" % vtype)


class GgufWriter:
    def __init__(self):
        self.kv = []        # (key, vtype, value, elem_type or None)
        self.tensors = []   # (name, dims (ggml order), ggml_type, raw bytes)

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value, None))

    def add_array(self, key, elem_type, values):
        self.kv.append((key, R.GGUF_ARRAY, list(values), elem_type))

    def add_tensor(self, name, array, ggml_type):
        """array: numpy float array in numpy shape [.., out, in]; stored as ggml dims reversed."""
        a = np.ascontiguousarray(array, dtype=np.float32)
        raw = quantize(a.reshape(-1), ggml_type)
        self.tensors.append((name, list(reversed(a.shape)), ggml_type, raw))

    def write(self, path):
        out = bytearray()
        out += b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for key, vtype, value, elem in self.kv:
            out += _str(key) + struct.pack("<I", vtype)
            if vtype == R.GGUF_ARRAY:
                out += struct.pack("<IQ", elem, len(value))
                for v in value:
                    out += _value(elem, v)
            else:
                out += _value(vtype, value)
        offset = 0
        offsets = []
        for name, dims, ttype, raw in self.tensors:
            offsets.append(offset)
            out += _str(name) + struct.pack("<I", len(dims))
            out += struct.pack("<%dQ" % len(dims), *dims)
            out += struct.pack("<IQ", ttype, offset)
            offset += (len(raw) + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        out += b"\0" * (-len(out) % ALIGNMENT)
        for (name, dims, ttype, raw), off in zip(self.tensors, offsets):
            out += raw
            out += b"\0" * (-len(raw) % ALIGNMENT)
        with open(path, "wb") as f:
            f.write(bytes(out))


# ---- quantizers: flat float32 -> raw bytes ----

def _f16_bytes(v):
    """[nb] float -> [nb, 2] uint8 of the float16 value."""
    return np.asarray(v, dtype=np.float16).reshape(-1, 1).view(np.uint8)


def quant_q8_0(x):
    b = x.reshape(-1, 32).astype(np.float64)
    d = (np.abs(b).max(axis=1) / 127.0).astype(np.float16).astype(np.float64)
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    q = np.clip(np.rint(b * inv[:, None]), -127, 127).astype(np.int8)
    return np.concatenate([_f16_bytes(d), q.view(np.uint8)], axis=1).tobytes()


def quant_q4_0(x):
    b = x.reshape(-1, 32).astype(np.float64)
    # scale from the signed value of largest magnitude, so it maps to -8 exactly
    idx = np.abs(b).argmax(axis=1)
    m = b[np.arange(b.shape[0]), idx]
    d = (m / -8.0).astype(np.float16).astype(np.float64)
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.rint(b * inv[:, None]) + 8, 0, 15).astype(np.uint8)
    qs = q[:, :16] | (q[:, 16:] << 4)
    return np.concatenate([_f16_bytes(d), qs], axis=1).tobytes()


def _pack_k_scales(sc, mn):
    """6-bit scales/mins [nb, 8] -> [nb, 12] bytes (inverse of gguf_read._k_scales_mins)."""
    sc = sc.astype(np.uint8)
    mn = mn.astype(np.uint8)
    out = np.zeros((sc.shape[0], 12), dtype=np.uint8)
    for j in range(4):
        out[:, j] = (sc[:, j] & 63) | ((sc[:, j + 4] >> 4) << 6)
        out[:, j + 4] = (mn[:, j] & 63) | ((mn[:, j + 4] >> 4) << 6)
        out[:, j + 8] = (sc[:, j + 4] & 0x0F) | ((mn[:, j + 4] & 0x0F) << 4)
    return out


def _k_affine(x, levels):
    """Q4_K / Q5_K common part: x [nb, 8, 32] -> (d, dmin, sc6, mn6, q) with
    x ~ d*sc6*q - dmin*mn6, q in [0, levels]."""
    mn = np.minimum(x.min(axis=2), 0.0)                  # [nb, 8], <= 0
    mx = x.max(axis=2)
    scale = (mx - mn) / levels
    d = (scale.max(axis=1) / 63.0).astype(np.float16).astype(np.float64)
    dmin = ((-mn).max(axis=1) / 63.0).astype(np.float16).astype(np.float64)
    sc6 = np.clip(np.rint(np.divide(scale, d[:, None], out=np.zeros_like(scale), where=d[:, None] > 0)), 0, 63)
    mn6 = np.clip(np.rint(np.divide(-mn, dmin[:, None], out=np.zeros_like(mn), where=dmin[:, None] > 0)), 0, 63)
    eff_d = d[:, None] * sc6
    eff_m = dmin[:, None] * mn6
    q = np.rint(np.divide(x + eff_m[:, :, None], eff_d[:, :, None],
                          out=np.zeros_like(x), where=eff_d[:, :, None] > 0))
    q = np.clip(q, 0, levels).astype(np.uint8)
    return d, dmin, sc6, mn6, q


def quant_q4_k(x):
    xb = x.reshape(-1, 8, 32).astype(np.float64)
    d, dmin, sc6, mn6, q = _k_affine(xb, 15)
    qs = np.zeros((xb.shape[0], 128), dtype=np.uint8)
    for c in range(4):
        qs[:, 32 * c:32 * c + 32] = q[:, 2 * c] | (q[:, 2 * c + 1] << 4)
    return np.concatenate([_f16_bytes(d), _f16_bytes(dmin), _pack_k_scales(sc6, mn6), qs], axis=1).tobytes()


def quant_q5_k(x):
    xb = x.reshape(-1, 8, 32).astype(np.float64)
    d, dmin, sc6, mn6, q = _k_affine(xb, 31)
    qh = np.zeros((xb.shape[0], 32), dtype=np.uint8)
    qs = np.zeros((xb.shape[0], 128), dtype=np.uint8)
    for s in range(8):
        qh |= ((q[:, s] >> 4) & 1) << s
    for c in range(4):
        qs[:, 32 * c:32 * c + 32] = (q[:, 2 * c] & 0x0F) | ((q[:, 2 * c + 1] & 0x0F) << 4)
    return np.concatenate([_f16_bytes(d), _f16_bytes(dmin), _pack_k_scales(sc6, mn6), qh, qs], axis=1).tobytes()


def quant_q6_k(x):
    xb = x.reshape(-1, 16, 16).astype(np.float64)        # 16 sub-blocks of 16
    scale = np.abs(xb).max(axis=2) / 31.0                 # [nb, 16]
    d = (scale.max(axis=1) / 127.0).astype(np.float16).astype(np.float64)
    sc8 = np.clip(np.rint(np.divide(scale, d[:, None], out=np.zeros_like(scale), where=d[:, None] > 0)), -128, 127)
    eff = d[:, None] * sc8
    q = np.rint(np.divide(xb, eff[:, :, None], out=np.zeros_like(xb), where=eff[:, :, None] > 0))
    e = (np.clip(q, -32, 31) + 32).astype(np.uint8).reshape(-1, 256)   # 0..63
    nb = e.shape[0]
    ql = np.zeros((nb, 128), dtype=np.uint8)
    qh = np.zeros((nb, 64), dtype=np.uint8)
    for h in range(2):
        E = e[:, 128 * h:128 * h + 128]
        ql[:, 64 * h:64 * h + 32] = (E[:, 0:32] & 0x0F) | ((E[:, 64:96] & 0x0F) << 4)
        ql[:, 64 * h + 32:64 * h + 64] = (E[:, 32:64] & 0x0F) | ((E[:, 96:128] & 0x0F) << 4)
        qh[:, 32 * h:32 * h + 32] = ((E[:, 0:32] >> 4) | ((E[:, 32:64] >> 4) << 2)
                                     | ((E[:, 64:96] >> 4) << 4) | ((E[:, 96:128] >> 4) << 6))
    sc = sc8.astype(np.int8).view(np.uint8)
    return np.concatenate([ql, qh, sc, _f16_bytes(d)], axis=1).tobytes()


def quantize(x, ggml_type):
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if ggml_type == R.GGML_F32:
        return x.astype("<f4").tobytes()
    if ggml_type == R.GGML_F16:
        return x.astype("<f2").tobytes()
    if ggml_type == R.GGML_BF16:
        # round to nearest even on the top 16 bits
        u = x.view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        return u.astype("<u2").tobytes()
    bs = R.GGML_TYPES[ggml_type][1]
    if x.size % bs:
        raise ValueError("%d elements is not a multiple of the %s block %d" % (x.size, R.GGML_TYPES[ggml_type][0], bs))
    fn = {R.GGML_Q8_0: quant_q8_0, R.GGML_Q4_0: quant_q4_0, R.GGML_Q4_K: quant_q4_k,
          R.GGML_Q5_K: quant_q5_k, R.GGML_Q6_K: quant_q6_k}[ggml_type]
    raw = fn(x)
    assert len(raw) == x.size // bs * R.GGML_TYPES[ggml_type][2]
    return raw
