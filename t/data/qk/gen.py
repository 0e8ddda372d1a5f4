#!/usr/bin/env python3
"""Generate the kernel oracle fixtures in t/data/qk/ (see README there).

    python3 t/data/qk/gen.py            # from the top of the tree

Oracles:
  dq-TYPE.bin  random blocks of TYPE and gguf.quants.dequantize() of them
               (the `gguf` PyPI package, ggml's reference numpy port).
  act.bin      floats and what llama.cpp's own CPU code turns them into for the
               dot products (ggml_get_type_traits_cpu(T)->from_float, called
               through ctypes in llama-cpp-python's libggml-cpu.so: Q8_0, Q8_1,
               Q8_K, F16, BF16), plus gguf.quants.quantize(Q8_0) for comparison.
  mm-TYPE.bin  weights W[m][k] of TYPE, activations X[n][k] (F32), and the
               products computed by llama.cpp's vec_dot for TYPE (after its
               from_float of X to the vec_dot type).

File layout (little-endian): 4-byte magic, int32 fields, then payloads:
  dq: "QKDQ" type nblocks | blocks bytes | float32 expected[nblocks*block]
  act:"QKAC" k ntie | float32 x[k] | q8_0 | q8_1 | q8_K | f16 | bf16 |
      gguf q8_0 | uint8 tie[k] (1 where gguf's roundf-based quantizer and
      ggml's x86 quantizer may legitimately differ)
  mm: "QKMM" type m n k | W bytes | float32 X[n][k] | float32 Y[n][m]
"""
import ctypes
import os
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
rng = np.random.default_rng(20240531)

TYPES = {"f32": T.F32, "f16": T.F16, "bf16": T.BF16, "q8_0": T.Q8_0, "q4_0": T.Q4_0,
         "q4_1": T.Q4_1, "q4_K": T.Q4_K, "q5_K": T.Q5_K, "q6_K": T.Q6_K}
BLOCK = {k: gguf.GGML_QUANT_SIZES[v] for k, v in TYPES.items()}  # (elems, bytes)


def half_bits(a):
    with np.errstate(over="ignore"):  # out-of-range values become inf on purpose
        return np.asarray(a, dtype=np.float16).view(np.uint16)


def random_blocks(name, nblocks):
    """Random blocks: arbitrary quant bits, sane (finite) half scales."""
    elems, nbytes = BLOCK[name]
    raw = rng.integers(0, 256, size=(nblocks, nbytes), dtype=np.uint8)
    def put_half(off, vals):
        raw[:, off:off + 2] = half_bits(vals).reshape(-1, 1).view(np.uint8).reshape(nblocks, 2)
    scale = np.abs(rng.normal(0, 0.02, nblocks)) + 1e-4
    if name in ("q8_0", "q4_0"):
        put_half(0, scale * rng.choice([-1, 1], nblocks))
    elif name == "q4_1":
        put_half(0, scale)
        put_half(2, rng.normal(0, 0.1, nblocks))
    elif name in ("q4_K", "q5_K"):
        put_half(0, scale)
        put_half(2, scale * 0.5)
    elif name == "q6_K":
        put_half(nbytes - 2, scale)
    elif name == "f16":
        vals = rng.normal(0, 1, nblocks) * np.exp2(rng.integers(-26, 16, nblocks))
        edge = [0.0, -0.0, 65504, -65504, 6.1e-5, 6e-8, 5.96e-8, np.inf, -np.inf, 1 / 3]
        vals[:len(edge)] = edge
        raw = half_bits(vals).view(np.uint8).reshape(nblocks, 2)
    elif name == "bf16":
        vals = rng.normal(0, 1, nblocks) * np.exp2(rng.integers(-130, 120, nblocks))
        raw = gguf.quants.quantize(vals.astype(np.float32), T.BF16).reshape(nblocks, 2)
    elif name == "f32":
        raw = rng.normal(0, 1, nblocks).astype(np.float32).view(np.uint8).reshape(nblocks, 4)
    return raw


def weights(name, m, k):
    """W[m][k] of the type: realistic values through gguf's quantizer where it
    has one, random blocks otherwise."""
    w = rng.normal(0, 0.05, (m, k)).astype(np.float32)
    if name in ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"):
        if name == "f32":
            return w.view(np.uint8).reshape(m, -1)
        if name == "f16":
            return w.astype(np.float16).view(np.uint8).reshape(m, -1)
        return gguf.quants.quantize(w, TYPES[name]).reshape(m, -1)
    elems, nbytes = BLOCK[name]
    return random_blocks(name, m * k // elems).reshape(m, -1)


class Traits(ctypes.Structure):
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]


ctypes.CDLL(os.path.join(LIB, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
cpu = ctypes.CDLL(os.path.join(LIB, "libggml-cpu.so"))
cpu.ggml_cpu_init()
cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(Traits)
FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                           ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def traits(t):
    return cpu.ggml_get_type_traits_cpu(int(t)).contents


def row_size(t, k):
    # gguf's table still has the old 40-byte Q8_1 (float d, s); ggml's is 36
    elems, nbytes = (32, 36) if t == T.Q8_1 else gguf.GGML_QUANT_SIZES[t]
    return k // elems * nbytes


def ggml_from_float(t, x):
    """llama.cpp's from_float for type t on a float32 row."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.zeros(row_size(t, x.size), dtype=np.uint8)
    FROM_FLOAT(traits(t).from_float)(x.ctypes.data, out.ctypes.data, x.size)
    return out


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def gen_dequant():
    for name, t in TYPES.items():
        elems, _ = BLOCK[name]
        # 32-blocks: 72 = 4 rows of 18 (two x8 groups and a tail) for t4000's embed
        nblocks = {1: 2048}.get(elems, 72 if elems == 32 else 16)
        raw = random_blocks(name, nblocks)
        if name == "f32":
            want = raw.view(np.float32).reshape(-1)
        else:
            want = gguf.quants.dequantize(raw, t).astype(np.float32).reshape(-1)
        write(f"dq-{name}.bin", b"QKDQ" + struct.pack("<ii", int(t), nblocks) + raw.tobytes() +
              want.tobytes())


def gen_act():
    k = 4096
    x = (rng.normal(0, 1, k) * np.repeat(np.exp2(rng.integers(-8, 8, k // 32)), 32)).astype(np.float32)
    x[256:288] = 0                      # an all-zero block
    ties = np.array([127, 2.5, -3.5, 0.5, -0.5, 1.5, 64.5, -126.5] * 4, dtype=np.float32)
    x[512:544] = ties                   # amax 127: multiplier 1, exact .5 ties
    x[768:800] = -ties                  # and negated
    outs = [ggml_from_float(t, x) for t in (T.Q8_0, T.Q8_1, T.Q8_K, T.F16, T.BF16)]
    g = gguf.quants.quantize(x, T.Q8_0).reshape(-1)
    # where gguf (1/d, roundf) and ggml x86 (127/amax, round-to-even) agree by
    # construction, the test wants the same byte; elsewhere (ties) +-1
    blocks = x.reshape(-1, 32)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    d = amax / np.float32(127)
    with np.errstate(divide="ignore"):
        id_g = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
        id_x = np.where(amax == 0, np.float32(0), np.float32(127) / amax).astype(np.float32)
    a = gguf.quants.np_roundf(blocks * id_g)
    b = np.rint(blocks * id_x)
    tie = (a != b).astype(np.uint8).reshape(-1)
    write("act.bin", b"QKAC" + struct.pack("<ii", k, int(tie.sum())) + x.tobytes() +
          b"".join(o.tobytes() for o in outs) + g.tobytes() + tie.tobytes())
    return int(tie.sum())


def gen_matmul():
    for name, t in TYPES.items():
        elems, _ = BLOCK[name]
        m, n = 37, 5
        k = {1: 333, 32: 320}.get(elems, 512)
        w = weights(name, m, k)
        x = rng.normal(0, 1, (n, k)).astype(np.float32)
        tr = traits(t)
        vt = tr.vec_dot_type
        dot = VEC_DOT(tr.vec_dot)
        y = np.zeros((n, m), dtype=np.float32)
        s = ctypes.c_float()
        for ti in range(n):
            xq = ggml_from_float(vt, x[ti]) if vt != int(T.F32) else x[ti].view(np.uint8)
            xq = np.ascontiguousarray(xq)
            for r in range(m):
                wr = np.ascontiguousarray(w[r])
                dot(k, ctypes.addressof(s), 0, wr.ctypes.data, 0, xq.ctypes.data, 0, 1)
                y[ti, r] = s.value
        write(f"mm-{name}.bin", b"QKMM" + struct.pack("<iiii", int(t), m, n, k) + w.tobytes() +
              x.tobytes() + y.tobytes())


def main():
    for f in ("avx2", "avx512", "avx512_vnni", "avx512_bf16"):
        sys.stderr.write(f"# libggml-cpu {f}: {getattr(cpu, 'ggml_cpu_has_' + f)()}\n")
    gen_dequant()
    ntie = gen_act()
    gen_matmul()
    sys.stderr.write(f"# act.bin: {ntie} elements where gguf's Q8_0 rounding differs from ggml x86\n")


if __name__ == "__main__":
    main()
