#!/usr/bin/env python3
"""Tiny llama-architecture GGUFs for qgen's bad-input tests (t3000): one valid
model and variants that each break one rule the model loader checks.

    python3 t/data/qgen/gen-bad-models.py     # from the top of the tree

Writes t/data/qgen/models/:
  good.gguf        valid: n_embd 32, 1 layer, 2 heads of 16, 1 KV head, n_ff 64,
                   token_embd Q8_0 (tied output), the rest F32; the tokenizer
                   is stories260K's (SPM, 512 tokens)
  bad-shape.gguf   blk.0.attn_k.weight is [32, 32] but head_count_kv 1 x 16
                   wants [32, 16]
  bad-missing.gguf no blk.0.ffn_up.weight
  bad-arch.gguf    general.architecture "mamba"
  bad-type.gguf    blk.0.attn_q.weight stored as IQ4_NL (a type the kernels lack)
  bad-norm.gguf    blk.0.attn_norm.weight stored as F16 (norms must be F32)
  bad-embd.gguf    llama.embedding_length 48 while the tensors are 32 wide
Weights come from numpy default_rng(7): the same bytes on every run.  Needs the
gguf and numpy PyPI packages and ../shared/models/stories260K.gguf.
"""
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.environ.get("Q_SHARED", os.path.join(TOP, "..", "shared"))
STORIES = os.path.join(SHARED, "models", "stories260K.gguf")
OUT = os.path.join(HERE, "models")

D, FF, NH, NKV, HD, NV = 32, 64, 2, 1, 16, 512


def tokenizer(w):
    """Copy stories260K's tokenizer.ggml.* keys into writer w."""
    r = gguf.GGUFReader(STORIES)
    for k, f in r.fields.items():
        if not k.startswith("tokenizer.ggml."):
            continue
        v = f.contents()
        t = f.types[0]
        if t == gguf.GGUFValueType.ARRAY:
            w.add_key_value(k, v, t, sub_type=f.types[-1])
        else:
            w.add_key_value(k, v, t)


def write(name, arch="llama", embd_len=D, skip=(), kshape=(NKV * HD, D), qtype=None, norm_f16=False):
    rng = np.random.default_rng(7)
    w = gguf.GGUFWriter(os.path.join(OUT, name), arch)
    w.add_uint32(f"{arch}.context_length", 256)
    w.add_uint32(f"{arch}.embedding_length", embd_len)
    w.add_uint32(f"{arch}.block_count", 1)
    w.add_uint32(f"{arch}.feed_forward_length", FF)
    w.add_uint32(f"{arch}.attention.head_count", NH)
    w.add_uint32(f"{arch}.attention.head_count_kv", NKV)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)
    tokenizer(w)

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols)) * 0.2).astype(np.float32)

    emb = mat(NV, D)
    w.add_tensor("token_embd.weight", quantize(emb, T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("output_norm.weight", np.ones(D, dtype=np.float32))
    tensors = {
        "blk.0.attn_norm.weight": np.ones(D, dtype=np.float32),
        "blk.0.attn_q.weight": mat(NH * HD, D),
        "blk.0.attn_k.weight": mat(*kshape),
        "blk.0.attn_v.weight": mat(NKV * HD, D),
        "blk.0.attn_output.weight": mat(D, NH * HD),
        "blk.0.ffn_norm.weight": np.ones(D, dtype=np.float32),
        "blk.0.ffn_gate.weight": mat(FF, D),
        "blk.0.ffn_up.weight": mat(FF, D),
        "blk.0.ffn_down.weight": mat(D, FF),
    }
    for n, a in tensors.items():
        if n in skip:
            continue
        if n == "blk.0.attn_q.weight" and qtype is not None:
            # IQ4_NL has 32-element blocks of 18 bytes; the bytes do not matter
            raw = rng.integers(0, 256, size=(a.shape[0], a.shape[1] // 32 * 18), dtype=np.uint8)
            w.add_tensor(n, raw, raw_dtype=qtype)
        elif n == "blk.0.attn_norm.weight" and norm_f16:
            w.add_tensor(n, a.astype(np.float16))
        else:
            w.add_tensor(n, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    write("good.gguf")
    write("bad-shape.gguf", kshape=(32, D))
    write("bad-missing.gguf", skip=("blk.0.ffn_up.weight",))
    write("bad-arch.gguf", arch="mamba")
    write("bad-type.gguf", qtype=T.IQ4_NL)
    write("bad-norm.gguf", norm_f16=True)
    write("bad-embd.gguf", embd_len=48)


if __name__ == "__main__":
    main()
