#!/usr/bin/env python3
"""Tiny llama GGUFs with rope scaling, and llama.cpp's logits for them: the
golden data of t3103 (rope scaling as lib/model binds it).

    python3 t/data/qgen/gen-rope.py        # from the top of the tree

Writes t/data/qgen/rope/:
  llama3.gguf         Llama 3.1-style scaling as convert_hf_to_gguf.py writes
                      it: a rope_freqs.weight tensor of per-dimension factors
                      (factor 8, low_freq_factor 1, high_freq_factor 4,
                      original context 8192), rope base 500000
  linear.gguf         llama.rope.scaling.type "linear", factor 4
  NAME.logits         llama.cpp's logits at every position of tokens.txt,
                      float32 LE [N][512], KV cache F32, one decode
  tokens.txt          the token sequence (stories260K ids, BOS first)
Both models: 1 layer, n_embd 64, 1 head of 64 (1 KV head), n_ff 64, F32
weights from numpy default_rng(11), stories260K's tokenizer (SPM, 512).
The positions run to 200 so that the scaled (long-wavelength) dimensions
turn far enough to matter.  Needs llama-cpp-python==0.3.36, gguf, numpy and
../shared/models/stories260K.gguf.
"""
import math
import os
import sys

import numpy as np
import gguf
import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(TOP, "t", "data", "engine"))
import llamacpp_oracle as oracle  # noqa: E402

SHARED = os.environ.get("Q_SHARED", os.path.join(TOP, "..", "shared"))
STORIES = os.path.join(SHARED, "models", "stories260K.gguf")
OUT = os.path.join(HERE, "rope")
D, FF, NH, HD, NV, N_POS = 64, 64, 1, 64, 512, 200
BASE = 500000.0


def llama3_factors(factor=8.0, low=1.0, high=4.0, orig=8192):
    """convert_hf_to_gguf.py's rope_freqs for Llama 3.1 scaling."""
    out = []
    for i in range(0, HD, 2):
        freq = 1.0 / BASE ** (i / HD)
        wl = 2 * math.pi / freq
        if wl < orig / high:
            out.append(1.0)
        elif wl > orig / low:
            out.append(factor)
        else:
            s = (orig / wl - low) / (high - low)
            out.append(1 / ((1 - s) / factor + s))
    return np.array(out, dtype=np.float32)


def write(name, linear=None, freqs=None):
    rng = np.random.default_rng(11)
    w = gguf.GGUFWriter(os.path.join(OUT, name), "llama")
    w.add_uint32("llama.context_length", 8192)
    w.add_uint32("llama.embedding_length", D)
    w.add_uint32("llama.block_count", 1)
    w.add_uint32("llama.feed_forward_length", FF)
    w.add_uint32("llama.attention.head_count", NH)
    w.add_uint32("llama.attention.head_count_kv", NH)
    w.add_uint32("llama.rope.dimension_count", HD)
    w.add_float32("llama.rope.freq_base", BASE)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    if linear:
        w.add_string("llama.rope.scaling.type", "linear")
        w.add_float32("llama.rope.scaling.factor", linear)
    r = gguf.GGUFReader(STORIES)
    for k, f in r.fields.items():
        if k.startswith("tokenizer.ggml."):
            t = f.types[0]
            if t == gguf.GGUFValueType.ARRAY:
                w.add_key_value(k, f.contents(), t, sub_type=f.types[-1])
            else:
                w.add_key_value(k, f.contents(), t)

    def mat(rows, cols, scale=0.15):
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)

    w.add_tensor("token_embd.weight", mat(NV, D, 1.0))
    w.add_tensor("output_norm.weight", np.ones(D, dtype=np.float32))
    if freqs is not None:
        w.add_tensor("rope_freqs.weight", freqs)
    w.add_tensor("blk.0.attn_norm.weight", np.ones(D, dtype=np.float32))
    # large Q/K so that attention depends visibly on the rotation
    w.add_tensor("blk.0.attn_q.weight", mat(NH * HD, D, 0.5))
    w.add_tensor("blk.0.attn_k.weight", mat(NH * HD, D, 0.5))
    w.add_tensor("blk.0.attn_v.weight", mat(NH * HD, D))
    w.add_tensor("blk.0.attn_output.weight", mat(D, NH * HD))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(D, dtype=np.float32))
    w.add_tensor("blk.0.ffn_gate.weight", mat(FF, D))
    w.add_tensor("blk.0.ffn_up.weight", mat(FF, D))
    w.add_tensor("blk.0.ffn_down.weight", mat(D, FF))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    write("llama3.gguf", freqs=llama3_factors())
    write("linear.gguf", linear=4.0)
    rng = np.random.default_rng(5)
    ids = [1] + [int(x) for x in rng.integers(3, NV, size=N_POS - 1)]
    with open(os.path.join(OUT, "tokens.txt"), "w") as f:
        f.write(" ".join(map(str, ids)) + "\n")
    for name in ("llama3", "linear"):
        llm = oracle.open_model(os.path.join(OUT, name + ".gguf"), threads=1, n_ctx=512,
                                kv=llama_cpp.GGML_TYPE_F32)
        oracle.forced_logits(llm, ids).astype("<f4").tofile(os.path.join(OUT, name + ".logits"))
        llm.close()


if __name__ == "__main__":
    main()
