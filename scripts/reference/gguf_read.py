#!/usr/bin/python3
"""Plain GGUF v2/v3 reader and numpy dequantizers (reference, not fast).

Independent of the C++ engine: written from the GGUF format description and
ggml's block layouts. Clarity over speed.

File layout (little endian):
    magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv          (v1: u32 counts)
    n_kv x       { string key | u32 value_type | value }
    n_tensors x  { string name | u32 n_dims | u64 dims[n_dims] | u32 ggml_type | u64 offset }
    padding to `general.alignment` (default 32)
    data section: tensor i at data_start + offset_i
A string is u64 length + UTF-8 bytes; an array is u32 elem_type + u64 count + elements.
Tensor dims are in ggml order (dims[0] is the fastest-varying, i.e. the row
length), so a ggml {in, out} matrix is the numpy array of shape [out, in].

Python: Debian /usr/bin/python3 (3.11.2), numpy 1.24.2.
"""
import struct
import sys

import numpy as np

# ---- metadata value types (gguf_type) ----
GGUF_UINT8, GGUF_INT8, GGUF_UINT16, GGUF_INT16, GGUF_UINT32, GGUF_INT32 = 0, 1, 2, 3, 4, 5
GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY = 6, 7, 8, 9
GGUF_UINT64, GGUF_INT64, GGUF_FLOAT64 = 10, 11, 12

# value type -> struct format of one scalar
SCALAR_FMT = {
    GGUF_UINT8: "<B", GGUF_INT8: "<b", GGUF_UINT16: "<H", GGUF_INT16: "<h",
    GGUF_UINT32: "<I", GGUF_INT32: "<i", GGUF_FLOAT32: "<f", GGUF_BOOL: "<?",
    GGUF_UINT64: "<Q", GGUF_INT64: "<q", GGUF_FLOAT64: "<d",
}

# ---- ggml tensor types: id -> (name, elements per block, bytes per block) ----
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8
GGML_Q4_K, GGML_Q5_K, GGML_Q6_K, GGML_BF16 = 12, 13, 14, 30
QK_K = 256
GGML_TYPES = {
    GGML_F32: ("F32", 1, 4),
    GGML_F16: ("F16", 1, 2),
    GGML_Q4_0: ("Q4_0", 32, 2 + 16),
    GGML_Q8_0: ("Q8_0", 32, 2 + 32),
    GGML_Q4_K: ("Q4_K", QK_K, 2 + 2 + 12 + QK_K // 2),
    GGML_Q5_K: ("Q5_K", QK_K, 2 + 2 + 12 + QK_K // 8 + QK_K // 2),
    GGML_Q6_K: ("Q6_K", QK_K, QK_K // 2 + QK_K // 4 + QK_K // 16 + 2),
    GGML_BF16: ("BF16", 1, 2),
}
# ids ggml defines that this reader can list but not dequantize
OTHER_GGML_TYPES = {3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K",
                    15: "Q8_K", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64"}


class GgufError(Exception):
    pass


class TensorInfo:
    def __init__(self, name, dims, ggml_type, offset):
        self.name = name
        self.dims = dims          # ggml order
        self.type = ggml_type
        self.offset = offset      # relative to the data section
        self.n_elements = int(np.prod(dims)) if dims else 1

    @property
    def type_name(self):
        if self.type in GGML_TYPES:
            return GGML_TYPES[self.type][0]
        return OTHER_GGML_TYPES.get(self.type, "type%d" % self.type)

    def n_bytes(self):
        _, bs, ts = GGML_TYPES[self.type]
        return self.n_elements // bs * ts

    def __repr__(self):
        return "TensorInfo(%s, %s, %s, off=%d)" % (self.name, self.dims, self.type_name, self.offset)


class GgufFile:
    """Parses the header eagerly; tensor data stays in a read-only memmap."""

    def __init__(self, path):
        self.path = path
        self.mm = np.memmap(path, dtype=np.uint8, mode="r")
        self.buf = memoryview(self.mm)
        self.pos = 0
        magic = bytes(self._take(4))
        if magic != b"GGUF":
            raise GgufError("%s: offset 0: expected magic 'GGUF', got %r" % (path, magic))
        self.version = self._scalar(GGUF_UINT32)
        if self.version not in (1, 2, 3):
            raise GgufError("%s: offset 4: unsupported GGUF version %d (expected 1..3)" % (path, self.version))
        count_type = GGUF_UINT32 if self.version == 1 else GGUF_UINT64
        n_tensors = self._scalar(count_type)
        n_kv = self._scalar(count_type)
        self.metadata = {}
        self.value_types = {}
        for _ in range(n_kv):
            key = self._string()
            vtype = self._scalar(GGUF_UINT32)
            self.value_types[key] = vtype
            self.metadata[key] = self._value(vtype, key)
        self.tensors = {}
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._scalar(GGUF_UINT32)
            if not 1 <= n_dims <= 4:
                raise GgufError("%s: offset %d: tensor %s has %d dims (expected 1..4)" % (path, self.pos, name, n_dims))
            dims = [self._scalar(count_type) for _ in range(n_dims)]
            ttype = self._scalar(GGUF_UINT32)
            offset = self._scalar(GGUF_UINT64)
            self.tensors[name] = TensorInfo(name, dims, ttype, offset)
        self.alignment = int(self.metadata.get("general.alignment", 32))
        self.data_start = (self.pos + self.alignment - 1) // self.alignment * self.alignment
        for t in self.tensors.values():
            if t.type in GGML_TYPES:
                end = self.data_start + t.offset + t.n_bytes()
                if end > len(self.mm):
                    raise GgufError("%s: tensor %s ends at byte %d past the file end %d" % (path, t.name, end, len(self.mm)))

    # ---- header parsing helpers ----
    def _take(self, n):
        if self.pos + n > len(self.buf):
            raise GgufError("%s: offset %d: need %d bytes, file has %d" % (self.path, self.pos, n, len(self.buf)))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def _scalar(self, vtype):
        fmt = SCALAR_FMT[vtype]
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    def _string(self):
        n = self._scalar(GGUF_UINT64)
        return bytes(self._take(n)).decode("utf-8", errors="surrogateescape")

    def _value(self, vtype, key):
        if vtype in SCALAR_FMT:
            return self._scalar(vtype)
        if vtype == GGUF_STRING:
            return self._string()
        if vtype == GGUF_ARRAY:
            etype = self._scalar(GGUF_UINT32)
            n = self._scalar(GGUF_UINT64)
            if etype in SCALAR_FMT and etype != GGUF_BOOL:
                fmt = SCALAR_FMT[etype]
                size = struct.calcsize(fmt)
                arr = np.frombuffer(self._take(n * size), dtype=np.dtype(fmt)).copy()
                return arr
            return [self._value(etype, key) for _ in range(n)]
        raise GgufError("%s: offset %d: key %s has unknown value type %d" % (self.path, self.pos, key, vtype))

    # ---- public API ----
    def get(self, key, default=None):
        return self.metadata.get(key, default)

    def require(self, key):
        if key not in self.metadata:
            raise GgufError("%s: missing metadata key %s" % (self.path, key))
        return self.metadata[key]

    def raw(self, name):
        """Raw bytes of a tensor as a uint8 memmap slice."""
        t = self.tensors[name]
        if t.type not in GGML_TYPES:
            raise GgufError("%s: tensor %s has type %s, which this reader cannot dequantize" % (self.path, name, t.type_name))
        start = self.data_start + t.offset
        return self.mm[start:start + t.n_bytes()]

    def tensor(self, name):
        """Dequantized float32 numpy array, shape = reversed ggml dims."""
        if name not in self.tensors:
            raise GgufError("%s: no tensor named %s" % (self.path, name))
        t = self.tensors[name]
        flat = dequantize(self.raw(name), t.type, t.n_elements)
        return flat.reshape(list(reversed(t.dims)))


# ---- dequantizers: raw bytes (uint8 array) -> float32 flat array ----

def _f16(u8, cols):
    """Columns `cols` (2 bytes each, per block row) of a [n_blocks, bytes] array as float32."""
    return np.ascontiguousarray(u8[:, cols]).view(np.float16).astype(np.float32)


def dequant_f32(raw, n):
    return np.frombuffer(raw, dtype="<f4", count=n).astype(np.float32)


def dequant_f16(raw, n):
    return np.frombuffer(raw, dtype="<f2", count=n).astype(np.float32)


def dequant_bf16(raw, n):
    # bf16 is the top half of an IEEE float32
    hi = np.frombuffer(raw, dtype="<u2", count=n).astype(np.uint32)
    return (hi << 16).view(np.float32)


def dequant_q8_0(raw, n):
    # block: f16 d | int8 q[32];  x = d * q
    b = np.asarray(raw).reshape(-1, 34)
    d = _f16(b, slice(0, 2))                       # [nb, 1]
    q = b[:, 2:].view(np.int8).astype(np.float32)  # [nb, 32]
    return (d * q).reshape(-1)


def dequant_q4_0(raw, n):
    # block: f16 d | u8 qs[16]; element j<16 is the low nibble of qs[j],
    # element j+16 the high nibble; x = d * (nibble - 8)
    b = np.asarray(raw).reshape(-1, 18)
    d = _f16(b, slice(0, 2))
    qs = b[:, 2:]
    lo = (qs & 0x0F).astype(np.float32) - 8
    hi = (qs >> 4).astype(np.float32) - 8
    return (d * np.concatenate([lo, hi], axis=1)).reshape(-1)


def _k_scales_mins(sc):
    """Unpack the 12-byte 6-bit scales/mins of Q4_K/Q5_K: sc [nb, 12] -> ([nb, 8], [nb, 8]).

    Sub-blocks 0..3: scale = sc[j] & 63, min = sc[j+4] & 63.
    Sub-blocks 4..7: low 4 bits from sc[j+4] (scale: low nibble, min: high nibble),
    high 2 bits from the top bits of sc[j-4] (scale) and sc[j] (min).
    """
    sc = sc.astype(np.int32)
    scales = np.zeros((sc.shape[0], 8), dtype=np.int32)
    mins = np.zeros((sc.shape[0], 8), dtype=np.int32)
    for j in range(4):
        scales[:, j] = sc[:, j] & 63
        mins[:, j] = sc[:, j + 4] & 63
    for j in range(4, 8):
        scales[:, j] = (sc[:, j + 4] & 0x0F) | ((sc[:, j - 4] >> 6) << 4)
        mins[:, j] = (sc[:, j + 4] >> 4) | ((sc[:, j] >> 6) << 4)
    return scales.astype(np.float32), mins.astype(np.float32)


def dequant_q4_k(raw, n):
    # block (256 elts): f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
    # 8 sub-blocks of 32. Each 64-element chunk c uses qs[32c:32c+32]:
    # sub-block 2c from the low nibbles, 2c+1 from the high nibbles.
    # x = d*scale[s]*q - dmin*min[s]
    b = np.asarray(raw).reshape(-1, 144)
    d = _f16(b, slice(0, 2))
    dmin = _f16(b, slice(2, 4))
    scales, mins = _k_scales_mins(b[:, 4:16])
    qs = b[:, 16:144]
    q = np.zeros((b.shape[0], 8, 32), dtype=np.float32)
    for c in range(4):
        chunk = qs[:, 32 * c:32 * c + 32]
        q[:, 2 * c] = chunk & 0x0F
        q[:, 2 * c + 1] = chunk >> 4
    y = (d * scales)[:, :, None] * q - (dmin * mins)[:, :, None]
    return y.reshape(-1)


def dequant_q5_k(raw, n):
    # block: f16 d | f16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]
    # As Q4_K, plus a 5th bit: for sub-block s, bit s of qh[l] is the high bit
    # of element l of that sub-block.
    b = np.asarray(raw).reshape(-1, 176)
    d = _f16(b, slice(0, 2))
    dmin = _f16(b, slice(2, 4))
    scales, mins = _k_scales_mins(b[:, 4:16])
    qh = b[:, 16:48]
    qs = b[:, 48:176]
    q = np.zeros((b.shape[0], 8, 32), dtype=np.float32)
    for c in range(4):
        chunk = qs[:, 32 * c:32 * c + 32]
        for half, nib in ((0, chunk & 0x0F), (1, chunk >> 4)):
            s = 2 * c + half
            q[:, s] = nib + 16 * ((qh >> s) & 1)
    y = (d * scales)[:, :, None] * q - (dmin * mins)[:, :, None]
    return y.reshape(-1)


def dequant_q6_k(raw, n):
    # block: u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d
    # Two halves of 128 elements; half h uses ql[64h:64h+64], qh[32h:32h+32],
    # scales[8h:8h+8]. Within a half, for l < 32:
    #   e[l]    = ql[l]    low nibble | qh[l] bits 0-1 << 4
    #   e[l+32] = ql[l+32] low nibble | qh[l] bits 2-3 << 4
    #   e[l+64] = ql[l]    high nibble| qh[l] bits 4-5 << 4
    #   e[l+96] = ql[l+32] high nibble| qh[l] bits 6-7 << 4
    # value = d * scale[e_index // 16] * (e - 32)   (16-element sub-blocks)
    b = np.asarray(raw).reshape(-1, 210)
    nb = b.shape[0]
    ql_all = b[:, 0:128].astype(np.int32)
    qh_all = b[:, 128:192].astype(np.int32)
    sc = b[:, 192:208].view(np.int8).astype(np.float32)
    d = _f16(b, slice(208, 210))
    q = np.zeros((nb, 256), dtype=np.float32)
    for h in range(2):
        ql = ql_all[:, 64 * h:64 * h + 64]
        qh = qh_all[:, 32 * h:32 * h + 32]
        base = 128 * h
        q[:, base + 0:base + 32] = (ql[:, 0:32] & 0x0F) | (((qh >> 0) & 3) << 4)
        q[:, base + 32:base + 64] = (ql[:, 32:64] & 0x0F) | (((qh >> 2) & 3) << 4)
        q[:, base + 64:base + 96] = (ql[:, 0:32] >> 4) | (((qh >> 4) & 3) << 4)
        q[:, base + 96:base + 128] = (ql[:, 32:64] >> 4) | (((qh >> 6) & 3) << 4)
    q -= 32
    scale_per_elt = np.repeat(sc, 16, axis=1)   # [nb, 256]
    return (d * scale_per_elt * q).reshape(-1)


DEQUANT = {
    GGML_F32: dequant_f32, GGML_F16: dequant_f16, GGML_BF16: dequant_bf16,
    GGML_Q8_0: dequant_q8_0, GGML_Q4_0: dequant_q4_0,
    GGML_Q4_K: dequant_q4_k, GGML_Q5_K: dequant_q5_k, GGML_Q6_K: dequant_q6_k,
}


def dequantize(raw, ggml_type, n):
    if ggml_type not in DEQUANT:
        raise GgufError("cannot dequantize ggml type %d" % ggml_type)
    _, bs, ts = GGML_TYPES[ggml_type]
    if n % bs != 0:
        raise GgufError("%d elements is not a whole number of %s blocks of %d" % (n, GGML_TYPES[ggml_type][0], bs))
    raw = np.asarray(raw, dtype=np.uint8)
    if raw.size != n // bs * ts:
        raise GgufError("%s: %d bytes for %d elements, expected %d" % (GGML_TYPES[ggml_type][0], raw.size, n, n // bs * ts))
    out = DEQUANT[ggml_type](raw, n)
    assert out.size == n
    return out.astype(np.float32, copy=False)


def main(argv):
    if len(argv) != 2:
        print("usage: gguf_read.py FILE.gguf   (prints metadata and tensor infos)")
        return 2
    g = GgufFile(argv[1])
    print("GGUF v%d, %d kv, %d tensors, alignment %d, data at %d" %
          (g.version, len(g.metadata), len(g.tensors), g.alignment, g.data_start))
    for k, v in g.metadata.items():
        if isinstance(v, (list, np.ndarray)) and len(v) > 8:
            v = "[%s, ... %d items]" % (", ".join(repr(x) for x in list(v[:8])), len(v))
        print("  %-45s %s" % (k, v))
    for t in g.tensors.values():
        print("  %-30s %-6s %s" % (t.name, t.type_name, t.dims))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
