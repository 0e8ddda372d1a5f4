#!/usr/bin/env python3
"""gen-golden.py - golden data for t/t0100-gguf.t, made with the PyPI `gguf`
package (the reference reader/writer maintained with llama.cpp) as the oracle.

Run from the top of the tree:   python3 t/data/gguf/gen-golden.py
(pip install gguf==0.19.0 numpy).  It writes into t/data/gguf/:

  types.gguf, quants.gguf, vocab-only.gguf, v2.gguf   synthetic files written
      with gguf.GGUFWriter (fixed seed, so the bytes are reproducible)
  edge.gguf      hand-assembled with struct (GGUFWriter refuses empty arrays):
      empty and deeply nested arrays, a zero-element tensor, trailing bytes
  NAME.dump      for each NAME.gguf above, and for ../shared/models/
      stories260K.gguf and share/models/SmolLM2-135M-Instruct.Q4_1.gguf (kept
      as is when that model is absent): the canonical dump, made from what
      gguf.GGUFReader parsed.  The format is specified at the top of
      t/unit/gguf-dump.c; this script is its second, independent
      implementation.
"""
import math
import os
import struct
import sys
import zlib

import numpy as np
import gguf
from gguf import GGUFReader, GGUFWriter, GGUFValueType as VT, GGMLQuantizationType as QT

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
STORIES = os.path.normpath(os.path.join(TOP, "..", "shared", "models", "stories260K.gguf"))
SMOL = os.path.join(TOP, "share", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
SHOW = 4

TYPE_NAMES = {
    VT.UINT8: "uint8", VT.INT8: "int8", VT.UINT16: "uint16", VT.INT16: "int16",
    VT.UINT32: "uint32", VT.INT32: "int32", VT.FLOAT32: "float32", VT.BOOL: "bool",
    VT.STRING: "string", VT.ARRAY: "array", VT.UINT64: "uint64", VT.INT64: "int64",
    VT.FLOAT64: "float64",
}


# ---- the canonical dump, from GGUFReader's parse ----

def esc(b: bytes) -> bytes:
    out = bytearray(b'"')
    for c in b:
        if c in (0x22, 0x5c):
            out += b"\\" + bytes([c])
        elif c == 0x0a:
            out += b"\\n"
        elif c == 0x09:
            out += b"\\t"
        elif c == 0x0d:
            out += b"\\r"
        elif c < 0x20 or c == 0x7f:
            out += b"\\x%02x" % c
        else:
            out.append(c)
    return bytes(out + b'"')


def fmt_float(x: float, prec: int) -> bytes:
    if math.isnan(x):
        return b"nan"
    if math.isinf(x):
        return b"inf" if x > 0 else b"-inf"
    return (b"%%.%dg" % prec) % x


def value(t: VT, parts, i: int):
    """Text of the value of type t whose GGUFReader parts start at parts[i];
    returns (text, index of the next part)."""
    if t == VT.STRING:
        return esc(parts[i + 1].tobytes()), i + 2
    if t == VT.ARRAY:
        et = VT(int(parts[i][0]))
        n = int(parts[i + 1][0])
        i += 2
        texts, crc = [], 0
        for k in range(n):
            s, i = value(et, parts, i)
            crc = zlib.crc32(s + b"\n", crc)
            if k < SHOW or k >= n - SHOW:
                texts.append(s)
        if n > 2 * SHOW:
            texts = texts[:SHOW] + [b"..."] + texts[SHOW:]
        head = b"array[%s] n=%d [" % (TYPE_NAMES[et].encode(), n)
        return head + b", ".join(texts) + b"] crc32=%08x" % crc, i
    x = parts[i][0]
    if t == VT.BOOL:
        return (b"true" if bool(x) else b"false"), i + 1
    if t == VT.FLOAT32:
        return fmt_float(float(x), 9), i + 1
    if t == VT.FLOAT64:
        return fmt_float(float(x), 17), i + 1
    return b"%d" % int(x), i + 1


def dump(path: str) -> bytes:
    r = GGUFReader(path)
    out = [
        b"version %d" % int(r.fields["GGUF.version"].parts[0][0]),
        b"alignment %d" % int(r.alignment),
        b"kv_count %d" % int(r.fields["GGUF.kv_count"].parts[0][0]),
        b"tensor_count %d" % int(r.fields["GGUF.tensor_count"].parts[0][0]),
    ]
    for name, f in r.fields.items():
        if name.startswith("GGUF."):
            continue
        key = f.parts[1].tobytes()
        t = VT(int(f.parts[2][0]))
        text, end = value(t, f.parts, 3)
        assert end == len(f.parts), name
        if t != VT.ARRAY:
            text = TYPE_NAMES[t].encode() + b" " + text
        out.append(b"kv " + esc(key) + b" " + text)
    for t in r.tensors:
        name = t.field.parts[1].tobytes()
        offset = int(t.field.parts[5][0])
        crc = zlib.crc32(r.data[t.data_offset:t.data_offset + t.n_bytes].tobytes())
        shape = b", ".join(b"%d" % int(d) for d in t.shape)
        out.append(b"tensor %s %s [%s] offset=%d nbytes=%d crc32=%08x" % (
            esc(name), t.tensor_type.name.encode(), shape, offset, t.n_bytes, crc))
    return b"\n".join(out) + b"\n"


# ---- synthetic files ----

def rng():
    return np.random.default_rng(20240601)


def write(w: GGUFWriter):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make_types(path):
    """Every metadata type, strings with UTF-8, NULs and escapes, nested
    arrays, several tensor types, alignment 64."""
    g = rng()
    w = GGUFWriter(path, "test")
    w.add_custom_alignment(64)
    w.add_uint8("s.u8", 255)
    w.add_int8("s.i8", -128)
    w.add_uint16("s.u16", 65535)
    w.add_int16("s.i16", -32768)
    w.add_uint32("s.u32", 4294967295)
    w.add_int32("s.i32", -2147483648)
    w.add_uint64("s.u64", 2**64 - 1)
    w.add_int64("s.i64", -2**63)
    w.add_float32("s.f32", 0.1)
    w.add_float32("s.f32_inf", float("-inf"))
    w.add_float32("s.f32_nan", float("nan"))
    w.add_float32("s.f32_denormal", 1e-45)
    w.add_float64("s.f64", math.pi)
    w.add_float64("s.f64_negzero", -0.0)
    w.add_float64("s.f64_big", 1.7976931348623157e308)
    w.add_bool("s.true", True)
    w.add_bool("s.false", False)
    w.add_string("s.str", "hello")
    w.add_string("s.utf8", "h\u00e9llo w\u00f6rld \u2013 \u65e5\u672c\u8a9e \U0001f999")
    w.add_key_value("s.nul", b"a\x00b\x00", VT.STRING)
    w.add_key_value("s.escapes", b'q"b\\n\nt\tr\r\x01\x7f\xff', VT.STRING)
    w.add_key_value("s.empty", "", VT.STRING)
    w.add_key_value("key with spaces and \"quotes\"", 7, VT.UINT32)
    for vt, vals in [
        (VT.UINT8, [0, 1, 255]), (VT.INT8, [-128, 0, 127]),
        (VT.UINT16, [0, 65535]), (VT.INT16, [-32768, 32767]),
        (VT.UINT32, [0, 4294967295]), (VT.INT32, [-2147483648, 2147483647]),
        (VT.UINT64, [0, 2**64 - 1]), (VT.INT64, [-2**63, 2**63 - 1]),
        (VT.FLOAT32, [1.5, -2.25, float("inf")]), (VT.FLOAT64, [1e-300, -0.0]),
        (VT.BOOL, [True, False, True]), (VT.STRING, ["a", "", "\u00fc\u00df"]),
    ]:
        w.add_key_value("a." + TYPE_NAMES[vt], vals, VT.ARRAY, sub_type=vt)
    w.add_key_value("a.long_u8", bytes(range(200)), VT.ARRAY, sub_type=VT.UINT8)
    w.add_key_value("a.long_f32", [float(x) for x in g.standard_normal(100).astype(np.float32)],
                    VT.ARRAY, sub_type=VT.FLOAT32)
    w.add_key_value("a.long_str", ["tok%d\u00e9" % i for i in range(40)] + ["nul\x00in", "q\"\\"],
                    VT.ARRAY, sub_type=VT.STRING)
    w.add_key_value("a.nested_i32", [[1, 2], [3], [4, 5, 6]], VT.ARRAY)
    w.add_key_value("a.nested3_str", [[["a"], ["b", "c"]], [["d"]]], VT.ARRAY)
    w.add_key_value("a.nested_long", [list(range(k, k + 10)) for k in range(12)], VT.ARRAY)
    w.add_tensor("t.f32", g.standard_normal((3, 4)).astype(np.float32))
    w.add_tensor("t.f16", g.standard_normal(8).astype(np.float16))
    w.add_tensor("t.f64", g.standard_normal(3).astype(np.float64))
    w.add_tensor("t.i8", g.integers(-128, 127, 5).astype(np.int8))
    w.add_tensor("t.i16", g.integers(-1000, 1000, (2, 3)).astype(np.int16))
    w.add_tensor("t.i32", g.integers(-10**6, 10**6, (2, 2, 2)).astype(np.int32))
    w.add_tensor("t.i64", g.integers(-10**12, 10**12, (2, 1, 1, 3)).astype(np.int64))
    for name, qt, rows in [("t.q4_0", QT.Q4_0, 2), ("t.q8_0", QT.Q8_0, 1),
                           ("t.q4_k", QT.Q4_K, 1), ("t.q6_k", QT.Q6_K, 2), ("t.bf16", QT.BF16, 3)]:
        blck, size = gguf.GGML_QUANT_SIZES[qt]
        ne0 = blck * (2 if blck == 1 else 1)
        w.add_tensor(name, g.integers(0, 256, (rows, ne0 // blck * size)).astype(np.uint8), raw_dtype=qt)
    write(w)


def make_quants(path):
    """One tensor of every ggml type the gguf package knows, alignment 16;
    the last tensor ends exactly at the end of the file (t0100 cuts every
    prefix of this file)."""
    g = rng()
    w = GGUFWriter(path, "quants")
    w.add_custom_alignment(16)
    for qt in QT:
        blck, size = gguf.GGML_QUANT_SIZES[qt]
        w.add_tensor("q." + qt.name.lower(), g.integers(0, 256, (1, size)).astype(np.uint8), raw_dtype=qt)
    write(w)
    # drop the writer's padding after the last tensor: the file then ends
    # exactly at the end of the tensor data
    r = GGUFReader(path)
    last = r.tensors[-1]
    with open(path, "r+b") as f:
        f.truncate(last.data_offset + last.n_bytes)


def make_vocab_only(path):
    """No tensors, like llama.cpp's vocab-only tokenizer test files."""
    w = GGUFWriter(path, "llama")
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", ["<unk>", "<s>", "</s>", "\u2581a", "\u2581b"])
    w.add_array("tokenizer.ggml.scores", [0.0, 0.0, 0.0, -1.0, -2.0])
    w.add_key_value("tokenizer.ggml.token_type", [2, 3, 3, 1, 1], VT.ARRAY, sub_type=VT.INT32)
    w.add_uint32("tokenizer.ggml.bos_token_id", 1)
    write(w)


def make_v2(path):
    """A version 2 file (the same little-endian layout as version 3)."""
    g = rng()
    w = GGUFWriter(path, "llama")
    w.add_uint32("llama.block_count", 1)
    w.add_array("general.tags", ["v2", "test"])
    w.add_tensor("w", g.standard_normal((2, 8)).astype(np.float32))
    write(w)
    with open(path, "r+b") as f:
        f.seek(4)
        f.write(struct.pack("<I", 2))


def make_edge(path):
    """Hand-assembled: empty arrays (of scalars, strings and arrays), arrays
    nested 8 deep (the most the reader allows), a zero-element tensor, two
    tensors sharing an offset, 5 trailing bytes after the data."""
    def s(b):
        return struct.pack("<Q", len(b)) + b

    def arr(et, items):
        return struct.pack("<IQ", et, len(items)) + b"".join(items)

    kv = [
        (b"e.u8", VT.ARRAY, arr(VT.UINT8, [])),
        (b"e.str", VT.ARRAY, arr(VT.STRING, [])),
        (b"e.arr", VT.ARRAY, arr(VT.ARRAY, [arr(VT.UINT8, []), arr(VT.STRING, [s(b"x")])])),
    ]
    deep = arr(VT.INT16, [struct.pack("<h", -7)])
    for _ in range(7):
        deep = arr(VT.ARRAY, [deep])
    kv.append((b"e.deep8", VT.ARRAY, deep))
    kv.append((b"general.alignment", VT.UINT32, struct.pack("<I", 8)))
    tensors = [(b"zero", [0, 4], QT.F32, 0), (b"w", [2], QT.F32, 0), (b"b", [32], QT.Q8_0, 8)]
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)))
    for k, t, v in kv:
        out += s(k) + struct.pack("<I", t) + v
    for name, ne, qt, off in tensors:
        out += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", qt, off)
    out += b"\0" * (-len(out) % 8)
    g = rng()
    out += g.integers(0, 256, 8 + 34).astype(np.uint8).tobytes() + b"trail"
    with open(path, "wb") as f:
        f.write(out)


def main():
    made = []
    for name, fn in [("types", make_types), ("quants", make_quants), ("vocab-only", make_vocab_only),
                     ("v2", make_v2), ("edge", make_edge)]:
        p = os.path.join(HERE, name + ".gguf")
        fn(p)
        assert os.path.getsize(p) < 100_000, p
        made.append((p, os.path.join(HERE, name + ".dump")))
    made.append((STORIES, os.path.join(HERE, "stories260K.dump")))
    if os.path.exists(SMOL):
        made.append((SMOL, os.path.join(HERE, "SmolLM2-135M-Instruct.Q4_1.dump")))
    else:
        print("gen-golden: %s absent, keeping its dump" % SMOL, file=sys.stderr)
    for src, dst in made:
        with open(dst, "wb") as f:
            f.write(dump(src))
        print("gen-golden: %s -> %s" % (os.path.relpath(src, TOP), os.path.relpath(dst, TOP)))


if __name__ == "__main__":
    main()
