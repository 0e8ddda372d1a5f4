#!/usr/bin/env python3
"""How close is llama.cpp itself to the exact math on SmolLM2 Q4_1?

    python3 t/data/engine/calib-smollm2.py    # after gen-smollm2.py

A float64 numpy forward pass of the llama architecture over the weights as
gguf.quants.dequantize() gives them (no activation quantization, no half
rounding anywhere) for the first POS positions of a few teacher-forced
sequences of smollm2/ISA/tf-seqs.txt, against llama.cpp's logits with its
default F16 KV cache and with an F32 one.  Writes smollm2/ISA/calibration-f64.txt;
nothing tests against it: it says how much of llama.cpp's output is its own
rounding (Q8_1 activations for Q4_1 weights, F16 K/V, Q and softmax(QK)).
"""
import os
import sys

import numpy as np
import gguf
import llama_cpp

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamacpp_oracle as oracle  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL = os.path.join(TOP, "share", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = os.path.join(HERE, "smollm2", oracle.isa())
SEQS = (0, 17, 28)
POS = 80


def field(r, key):
    return r.fields[key].contents()


def main():
    r = gguf.GGUFReader(MODEL)
    arch = field(r, "general.architecture")
    n_layer = int(field(r, f"{arch}.block_count"))
    n_head = int(field(r, f"{arch}.attention.head_count"))
    n_kv = int(field(r, f"{arch}.attention.head_count_kv"))
    n_embd = int(field(r, f"{arch}.embedding_length"))
    eps = float(field(r, f"{arch}.attention.layer_norm_rms_epsilon"))
    base = float(field(r, f"{arch}.rope.freq_base"))
    hd = n_embd // n_head
    W = {}
    for t in r.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        W[t.name] = np.asarray(a, dtype=np.float64).reshape([int(x) for x in reversed(t.shape)])
    out_w = W.get("output.weight", W["token_embd.weight"])

    def rms(x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w

    def rope(x, pos):  # llama: rotate adjacent pairs (2i, 2i+1)
        th = pos[:, None] * base ** (-2 * np.arange(hd // 2) / hd)
        c, s = np.cos(th)[:, None, :], np.sin(th)[:, None, :]
        y = np.empty_like(x)
        y[..., 0::2] = x[..., 0::2] * c - x[..., 1::2] * s
        y[..., 1::2] = x[..., 0::2] * s + x[..., 1::2] * c
        return y

    def forward(ids):
        n = len(ids)
        pos = np.arange(n, dtype=np.float64)
        mask = np.triu(np.full((n, n), -np.inf), 1)
        x = W["token_embd.weight"][ids]
        for l in range(n_layer):
            p = f"blk.{l}."
            h = rms(x, W[p + "attn_norm.weight"])
            q = rope((h @ W[p + "attn_q.weight"].T).reshape(n, n_head, hd), pos)
            k = rope((h @ W[p + "attn_k.weight"].T).reshape(n, n_kv, hd), pos)
            v = (h @ W[p + "attn_v.weight"].T).reshape(n, n_kv, hd)
            o = np.zeros((n, n_head, hd))
            for j in range(n_head):
                kv = j // (n_head // n_kv)
                s = q[:, j] @ k[:, kv].T / np.sqrt(hd) + mask
                e = np.exp(s - s.max(1, keepdims=True))
                o[:, j] = (e / e.sum(1, keepdims=True)) @ v[:, kv]
            x = x + o.reshape(n, -1) @ W[p + "attn_output.weight"].T
            h = rms(x, W[p + "ffn_norm.weight"])
            g = h @ W[p + "ffn_gate.weight"].T
            x = x + (g / (1 + np.exp(-g)) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
        return rms(x, W["output_norm.weight"]) @ out_w.T

    seqs = {}
    with open(os.path.join(OUT, "tf-seqs.txt")) as f:
        for line in f:
            s, kind, n, ids = line.rstrip("\n").split("\t")
            seqs[int(s)] = [int(t) for t in ids.split()]
    f16 = oracle.open_model(MODEL, threads=1)
    f32 = oracle.open_model(MODEL, threads=1, kv=llama_cpp.GGML_TYPE_F32)
    lines = [f"# float64 numpy forward (dequantized weights) vs llama.cpp, first {POS} positions",
             "# seq\tllama.cpp KV\tmax|logit diff|\ttop-1 agreement\tlogit range of the f64 pass"]
    for s in SEQS:
        ids = seqs[s][:POS]
        ref = forward(ids)
        for name, llm in (("F16", f16), ("F32", f32)):
            lg = oracle.forced_logits(llm, ids).astype(np.float64)
            lines.append(f"{s}\t{name}\t{np.max(np.abs(lg - ref)):.4f}\t"
                         f"{int(np.sum(lg.argmax(1) == ref.argmax(1)))}/{len(ids)}\t"
                         f"{ref.min():.2f}..{ref.max():.2f}")
    with open(os.path.join(OUT, "calibration-f64.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines), file=sys.stderr)
    f16.close()
    f32.close()


if __name__ == "__main__":
    main()
