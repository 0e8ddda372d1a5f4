#!/usr/bin/env python3
"""Tiny random-weight GGUFs (qwen2, qwen3, llama) in every weight type the
engine supports, and llama.cpp's logits for one fixed token sequence.

    python3 t/data/engine/gen-tiny.py         # from the top of the tree

Writes t/data/engine/tiny/ (layouts in t/data/engine/README):
  NAME.gguf          the model (gguf.GGUFWriter; tokenizer = stories260K's SPM
                     vocab of 512 copied from ../shared/models/stories260K.gguf)
  NAME.logits        llama.cpp's logits at every position of tokens.txt, KV
                     cache F32: float32 little-endian, [N_POS][512], no header
  NAME.kvf16.logits  the same with llama.cpp's default F16 KV cache
  tokens.txt         the fixed token sequence (one line, ids separated by spaces)
  models.txt         one line per model: name arch weight-type output-type and
                     the hyper-parameters (the header line names the columns)
  calibration.txt    how far llama.cpp moves from itself when only the thread
                     count or the KV cache type changes (a floor for tolerances)
  greedy.txt         per model: the first 8 ids of tokens.txt as a prompt and
                     llama.cpp's greedy continuation of up to 32 ids (F16 KV;
                     the prompt in one decode, then one decode per id, so its
                     one-token kernels are exercised too), with the top-1 /
                     top-2 gap of every step (as smollm2's greedy.txt)
The logits, calibration.txt and greedy.txt go to tiny/ISA/ (the ISA llama.cpp
was built for, llamacpp_oracle.isa()); the rest is the same everywhere.

Oracle settings (llama-cpp-python 0.3.36 = its vendored llama.cpp, CPU):
  one llama_decode of the whole sequence (n_batch = n_ubatch = 64), 1 thread,
  flash attention off, logits_all; KV cache F32 (type_k = type_v =
  GGML_TYPE_F32) for NAME.logits -- the plain math -- and F16 (llama.cpp's
  default, which also rounds Q and softmax(QK) to half precision inside its
  matmuls) for NAME.kvf16.logits.  calibration.txt shows how far each moves.

Weights are seeded (numpy default_rng(SEED) per model, SEED fixed below), so a
re-run writes the same GGUF bytes; the logits are the same bytes on the same
CPU and llama.cpp build.  Quantization: gguf.quants.quantize for Q8_0, Q4_0,
Q4_1, BF16 (the gguf package's port of ggml's reference quantizers) and F16
(numpy); ggml_quantize_chunk() of llama-cpp-python's libggml-base.so for
Q4_K, Q5_K, Q6_K (the gguf package cannot quantize K-quants).
"""
import ctypes
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
import llama_cpp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamacpp_oracle as oracle  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(HERE, "tiny")
SHARED = os.environ.get("Q_SHARED", os.path.join(TOP, "..", "shared"))
STORIES = os.path.join(SHARED, "models", "stories260K.gguf")
LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
SEED = 20250603
N_POS = 48
N_PROMPT = 8   # greedy.txt: prompt ids (the first of tokens.txt) and ids generated
N_GEN = 32
TEXT = ("Once upon a time, there was a little girl named Lily. She loved to play "
        "outside in the park with her big red ball and her dog Max. One day, the sun was hot.")

# Two shapes.  "s": rows of 128/192 elements (blocks of 32 fit; K-quants do
# not) for F32, F16, BF16, Q8_0, Q4_0, Q4_1.  "k": rows of 256 for the
# K-quants (256-element super-blocks).  In "s", qwen3 uses head_dim 48, so its
# Q projection is 192 wide while n_embd is 128 (as in real Qwen3,
# n_head * head_dim != n_embd).  Sizes keep every GGUF under 2 MB.
SHAPES = {
    "s": dict(n_embd=128, n_ff=192, n_head=4, n_head_kv=2, head_dim=32),
    "k": dict(n_embd=256, n_ff=256, n_head=4, n_head_kv=2, head_dim=64),
}
ARCH = {
    "qwen2": dict(rope_base=1000000.0, eps=1e-6, qkv_bias=True, qk_norm=False),
    "qwen3": dict(rope_base=1000000.0, eps=1e-6, qkv_bias=False, qk_norm=True),
    "llama": dict(rope_base=500000.0, eps=1e-5, qkv_bias=False, qk_norm=False),
}
N_LAYER = 2
N_CTX_TRAIN = 4096

# name, arch, layer weight type, token_embd type, output type (None = tied)
# The token_embd / output types follow llama.cpp's llama-quantize defaults:
# output.weight becomes Q6_K when its rows hold whole 256-blocks (Q8_0 files
# keep Q8_0), Q8_0 otherwise; token_embd keeps the file's type unless the
# output is tied to it, then it gets the output's type; F16/BF16/F32 files
# (convert_hf_to_gguf --outtype) keep every matrix in that type.
MODELS = []
for arch in ("qwen2", "qwen3"):
    for wt in (T.F32, T.F16, T.BF16, T.Q8_0):
        MODELS.append((f"{arch}-{wt.name.lower()}", arch, "s", wt, wt, wt))
    for wt in (T.Q4_0, T.Q4_1):
        MODELS.append((f"{arch}-{wt.name.lower()}", arch, "s", wt, wt, T.Q8_0))
    for wt in (T.Q4_K, T.Q5_K, T.Q6_K):
        MODELS.append((f"{arch}-{wt.name.lower()}", arch, "k", wt, wt, T.Q6_K))
# tied output (as Qwen3-0.6B): no output.weight, token_embd Q6_K serves both
MODELS.append(("qwen3-q4_k-tied", "qwen3", "k", T.Q4_K, T.Q6_K, None))
# llama: normal (non-NeoX) RoPE, GQA 4/2
MODELS.append(("llama-q4_k", "llama", "k", T.Q4_K, T.Q4_K, T.Q6_K))

_ggml = ctypes.CDLL(os.path.join(LIB, "libggml-base.so"))
_ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
_ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                      ctypes.c_void_p]
_ggml.ggml_row_size.restype = ctypes.c_size_t
_ggml.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]


def quantize(w, wt):
    """w: float32 [rows][cols] -> array to hand to GGUFWriter.add_tensor."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    if wt == T.F32:
        return w
    if wt == T.F16:
        return w.astype(np.float16)
    if wt in (T.BF16, T.Q8_0, T.Q4_0, T.Q4_1):
        return gguf.quants.quantize(w, wt)
    rows, cols = w.shape
    rb = _ggml.ggml_row_size(int(wt), cols)
    out = np.zeros((rows, rb), dtype=np.uint8)
    n = _ggml.ggml_quantize_chunk(int(wt), w.ctypes.data, out.ctypes.data, 0, rows, cols, None)
    assert n == rows * rb, (wt, n, rows * rb)
    return out


def stories_vocab():
    r = gguf.GGUFReader(STORIES)
    f = r.fields
    tokens = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode("utf-8")
              for i in f["tokenizer.ggml.tokens"].data]
    scores = [float(f["tokenizer.ggml.scores"].parts[i][0]) for i in f["tokenizer.ggml.scores"].data]
    types = [int(f["tokenizer.ggml.token_type"].parts[i][0]) for i in f["tokenizer.ggml.token_type"].data]
    return tokens, scores, types


def write_model(path, name, arch, shape, wt, et, ot, vocab, seed):
    """Write one model; returns the hyper-parameter dict."""
    a, s = ARCH[arch], SHAPES[shape]
    rng = np.random.default_rng(seed)
    n_embd, n_ff, n_head, n_kv, hd = s["n_embd"], s["n_ff"], s["n_head"], s["n_head_kv"], s["head_dim"]
    if arch == "qwen3" and shape == "s":
        hd = 48
    elif n_head * hd != n_embd:
        raise SystemExit(f"{name}: {arch} needs n_head*head_dim == n_embd")
    n_q, n_kvd = n_head * hd, n_kv * hd
    n_vocab = len(vocab[0])

    def normal(shape_, std):
        return (rng.standard_normal(shape_) * std).astype(np.float32)

    w = gguf.GGUFWriter(path, arch)
    w.add_name(name)
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(n_embd)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_freq_base(a["rope_base"])
    w.add_layer_norm_rms_eps(a["eps"])
    w.add_key_length(hd)
    w.add_value_length(hd)
    w.add_rope_dimension_count(hd)
    w.add_file_type({T.F32: 0, T.F16: 1, T.Q4_0: 2, T.Q4_1: 3, T.Q8_0: 7, T.Q4_K: 15,
                     T.Q5_K: 17, T.Q6_K: 18, T.BF16: 32}[wt])
    w.add_vocab_size(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(vocab[0])
    w.add_token_scores(vocab[1])
    w.add_token_types(vocab[2])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_quantization_version(2)

    def mat(tname, rows, cols, std, t):
        q = quantize(normal((rows, cols), std), t)
        w.add_tensor(tname, q, raw_dtype=t if t not in (T.F32, T.F16) else None)

    def vec(tname, n, mean, std):
        w.add_tensor(tname, (mean + normal((n,), std)).astype(np.float32))

    # Scales: unit-RMS activations everywhere, attention scores and logits of
    # O(1..3) so that softmax and argmax are far from uniform.
    mat("token_embd.weight", n_vocab, n_embd, 3.0 / np.sqrt(n_embd), et)   # (vocab, n_embd)
    vec("output_norm.weight", n_embd, 1.0, 0.1)                          # (n_embd)
    if ot is not None:
        mat("output.weight", n_vocab, n_embd, 3.0 / np.sqrt(n_embd), ot)   # (vocab, n_embd)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        vec(p + "attn_norm.weight", n_embd, 1.0, 0.1)                    # (n_embd)
        mat(p + "attn_q.weight", n_q, n_embd, 1.5 / np.sqrt(n_embd), wt)  # (n_head*hd, n_embd)
        mat(p + "attn_k.weight", n_kvd, n_embd, 1.5 / np.sqrt(n_embd), wt)  # (n_kv*hd, n_embd)
        mat(p + "attn_v.weight", n_kvd, n_embd, 1.0 / np.sqrt(n_embd), wt)  # (n_kv*hd, n_embd)
        if a["qkv_bias"]:
            vec(p + "attn_q.bias", n_q, 0.0, 0.5)                        # (n_head*hd)
            vec(p + "attn_k.bias", n_kvd, 0.0, 0.5)                      # (n_kv*hd)
            vec(p + "attn_v.bias", n_kvd, 0.0, 0.1)                      # (n_kv*hd)
        if a["qk_norm"]:
            vec(p + "attn_q_norm.weight", hd, 1.0, 0.2)                  # (hd)
            vec(p + "attn_k_norm.weight", hd, 1.0, 0.2)                  # (hd)
        mat(p + "attn_output.weight", n_embd, n_q, 1.0 / np.sqrt(n_q), wt)  # (n_embd, n_head*hd)
        vec(p + "ffn_norm.weight", n_embd, 1.0, 0.1)                     # (n_embd)
        mat(p + "ffn_gate.weight", n_ff, n_embd, 1.0 / np.sqrt(n_embd), wt)  # (n_ff, n_embd)
        mat(p + "ffn_up.weight", n_ff, n_embd, 1.0 / np.sqrt(n_embd), wt)    # (n_ff, n_embd)
        mat(p + "ffn_down.weight", n_embd, n_ff, 1.0 / np.sqrt(n_ff), wt)    # (n_embd, n_ff)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return dict(n_embd=n_embd, n_ff=n_ff, n_head=n_head, n_head_kv=n_kv, head_dim=hd,
                n_layer=N_LAYER, n_vocab=n_vocab, rope_base=a["rope_base"], eps=a["eps"])


def llama_logits(path, tokens, threads=1, kv=llama_cpp.GGML_TYPE_F32, batch=64):
    """llama.cpp's logits [len(tokens)][n_vocab], decoding batch tokens at a time."""
    llm = llama_cpp.Llama(model_path=path, n_ctx=64, n_batch=batch, n_ubatch=batch,
                          n_threads=threads, n_threads_batch=threads, logits_all=True,
                          flash_attn=False, type_k=kv, type_v=kv, verbose=False)
    llm.eval(tokens)
    out = np.array(llm.scores[:len(tokens)], dtype=np.float32)
    llm.close()
    return out


def greedy(path, prompt, n):
    """llama.cpp's greedy continuation of PROMPT on PATH (F16 KV): (ids, gaps)."""
    llm = llama_cpp.Llama(model_path=path, n_ctx=64, n_batch=64, n_ubatch=64, n_threads=1,
                          n_threads_batch=1, logits_all=True, flash_attn=False, verbose=False)
    ids, gaps, _ = oracle.greedy(llm, prompt, n)
    llm.close()
    return ids, gaps


def rel_err(a, b):
    """'maxrel/rmsrel': max over positions of max|a-b| / max|b| and of
    rms(a-b) / rms(b), per position row."""
    mx = np.max(np.max(np.abs(a - b), axis=1) / np.max(np.abs(b), axis=1))
    rms = np.max(np.sqrt(np.mean((a - b) ** 2, axis=1) / np.mean(b ** 2, axis=1)))
    return f"{mx:.2e}/{rms:.2e}"


def main():
    # the models and tokens are the same everywhere; llama.cpp's logits and
    # calibration belong to the ISA it was built for
    lgdir = os.path.join(OUT, oracle.isa())
    os.makedirs(lgdir, exist_ok=True)
    vocab = stories_vocab()
    tok = llama_cpp.Llama(model_path=STORIES, vocab_only=True, verbose=False)
    tokens = tok.tokenize(TEXT.encode(), add_bos=True, special=False)[:N_POS]
    tok.close()
    assert len(tokens) == N_POS, len(tokens)
    with open(os.path.join(OUT, "tokens.txt"), "w") as f:
        f.write(" ".join(map(str, tokens)) + "\n")
    rows, cal, greedy_rows = [], [], []
    for i, (name, arch, shape, wt, et, ot) in enumerate(MODELS):
        path = os.path.join(OUT, name + ".gguf")
        hp = write_model(path, name, arch, shape, wt, et, ot, vocab, SEED + i)
        lg = llama_logits(path, tokens)
        if not np.all(np.isfinite(lg)):
            raise SystemExit(f"{name}: non-finite logits")
        lg.astype("<f4").tofile(os.path.join(lgdir, name + ".logits"))
        lh = llama_logits(path, tokens, kv=llama_cpp.GGML_TYPE_F16)
        if not np.all(np.isfinite(lh)):
            raise SystemExit(f"{name}: non-finite logits (F16 KV)")
        lh.astype("<f4").tofile(os.path.join(lgdir, name + ".kvf16.logits"))
        t2 = rel_err(llama_logits(path, tokens, threads=2), lg)
        t2h = rel_err(llama_logits(path, tokens, threads=2, kv=llama_cpp.GGML_TYPE_F16), lh)
        one = rel_err(llama_logits(path, tokens, batch=1), lg)
        oneh = rel_err(llama_logits(path, tokens, kv=llama_cpp.GGML_TYPE_F16, batch=1), lh)
        f16 = rel_err(lh, lg)
        gids, ggaps = greedy(path, tokens[:N_PROMPT], N_GEN)
        greedy_rows.append(f"{name}\t{' '.join(map(str, tokens[:N_PROMPT]))}\t{' '.join(map(str, gids))}\t"
                           f"{' '.join(f'{g:.6f}' for g in ggaps)}")
        top = np.sort(lg, axis=1)
        gap = float(np.min(top[:, -1] - top[:, -2]))
        cal.append(f"{name}\t{t2}\t{t2h}\t{one}\t{oneh}\t{f16}\t"
                   f"{float(np.std(lg)):.3f}\t{gap:.4f}")
        rows.append("\t".join([name, arch, wt.name, et.name, ot.name if ot is not None else "tied",
                               *(str(hp[k]) for k in ("n_embd", "n_ff", "n_layer", "n_head",
                                                       "n_head_kv", "head_dim", "n_vocab")),
                               f"{hp['rope_base']:g}", f"{hp['eps']:g}",
                               str(os.path.getsize(path))]))
        print(cal[-1], file=sys.stderr)
    with open(os.path.join(OUT, "models.txt"), "w") as f:
        f.write("# name\tarch\tweights\ttoken_embd\toutput\tn_embd\tn_ff\tn_layer\tn_head\t"
                "n_head_kv\thead_dim\tn_vocab\trope_base\trms_eps\tgguf_bytes\n")
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(lgdir, "greedy.txt"), "w") as f:
        f.write("\n".join(greedy_rows) + "\n")
    with open(os.path.join(lgdir, "calibration.txt"), "w") as f:
        f.write("# llama.cpp against its own goldens for the same file; each cell is\n"
                "# MAXREL/RMSREL: the max over positions of max_i|a_i-b_i| / max_i|b_i| and\n"
                "# of rms(a-b) / rms(b) (a = variant, b = golden):\n"
                "#   t2     2 threads, F32 KV              vs NAME.logits\n"
                "#   t2h    2 threads, F16 KV              vs NAME.kvf16.logits\n"
                "#   ub1    one token per decode, F32 KV   vs NAME.logits\n"
                "#   ub1h   one token per decode, F16 KV   vs NAME.kvf16.logits\n"
                "#   kv     NAME.kvf16.logits              vs NAME.logits\n"
                "# std = std of all golden logits; gap = smallest top-1 minus top-2 gap.\n"
                "# name\tt2\tt2h\tub1\tub1h\tkv\tstd\tgap\n")
        f.write("\n".join(cal) + "\n")


if __name__ == "__main__":
    main()
