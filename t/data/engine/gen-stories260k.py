#!/usr/bin/env python3
"""stories260K golden data from llama.cpp (the oracle).

    python3 t/data/engine/gen-stories260k.py   # from the top of the tree

Needs ../shared/models/stories260K.gguf (or $Q_SHARED/models/) and the PyPI
packages llama-cpp-python==0.3.36 and numpy.  Writes t/data/engine/stories260k/
(formats in t/data/engine/README):

  greedy.txt          one line per prompt: n, prompt ids (with BOS: SPM adds
                      it), N_GEN greedy ids, the top-1/top-2 gap of each step;
                      KV cache F16 (llama.cpp's default)
  greedy-kvf32.txt    the same with an F32 KV cache
  prompts.txt         n and the prompt text, tab-separated
  N.logits            prompt N's logits at every position of prompt +
                      continuation except the last (the row that chose the
                      last id is the last row): float32 LE [rows][512], as
                      llama.cpp computed them while generating (prompt in one
                      decode, then one decode per token); KV F16
  N.kvf32.logits      the same with an F32 KV cache
  calibration.txt     2 threads vs 1, and the F32/F16 KV difference

1 thread; the script fails if 2 threads give other ids.
"""
import os
import sys

import numpy as np
import llama_cpp

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamacpp_oracle as oracle  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.environ.get("Q_SHARED", os.path.join(TOP, "..", "shared"))
MODEL = os.path.join(SHARED, "models", "stories260K.gguf")
OUT = os.path.join(HERE, "stories260k", oracle.isa())
N_GEN = 96
PROMPTS = [
    "Once upon a time",
    "Lily and Tom",
    "The cat",
    "One day, a little boy named Tim went to the",
    "She was very happy because",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    llm1 = oracle.open_model(MODEL, threads=1, n_ctx=512)
    llm2 = oracle.open_model(MODEL, threads=2, n_ctx=512)
    llm32 = oracle.open_model(MODEL, threads=1, n_ctx=512, kv=llama_cpp.GGML_TYPE_F32)
    lines = {"greedy.txt": [], "greedy-kvf32.txt": []}
    cal = []
    maxd = 0.0
    for n, text in enumerate(PROMPTS):
        ids = oracle.tokenize(llm1, text)
        out, gaps, lg = oracle.greedy(llm1, ids, N_GEN)
        out2, _, lg2 = oracle.greedy(llm2, ids, N_GEN)
        out32, gaps32, lg32 = oracle.greedy(llm32, ids, N_GEN)
        if out2 != out:
            raise SystemExit(f"gen-stories260k: prompt {n}: 2 threads give other ids")
        lg.astype("<f4").tofile(os.path.join(OUT, f"{n}.logits"))
        lg32.astype("<f4").tofile(os.path.join(OUT, f"{n}.kvf32.logits"))
        for name, o, g in (("greedy.txt", out, gaps), ("greedy-kvf32.txt", out32, gaps32)):
            lines[name].append(f"{n}\t{' '.join(map(str, ids))}\t{' '.join(map(str, o))}\t"
                               f"{' '.join(f'{x:.6f}' for x in g)}")
        same = out32 == out
        m = min(len(lg), len(lg32))
        d = float(np.max(np.abs(lg[:m] - lg32[:m])))
        maxd = max(maxd, float(np.max(np.abs(lg2 - lg))))
        cal.append(f"prompt {n}: KV F32 greedy {'identical' if same else 'DIFFERENT'}, "
                   f"max |logit diff| F32 vs F16 KV {d:.6g}")
        text_out = llm1.detokenize(ids + out).decode("utf-8", "replace")
        print(f"{n}: {text_out!r}", file=sys.stderr)
    for name, rows in lines.items():
        with open(os.path.join(OUT, name), "w") as f:
            f.write("\n".join(rows) + "\n")
    with open(os.path.join(OUT, "prompts.txt"), "w") as f:
        for n, text in enumerate(PROMPTS):
            f.write(f"{n}\t{text}\n")
    cal.insert(0, f"2 threads vs 1 (KV F16): identical ids, max |logit diff| {maxd:.6g}")
    with open(os.path.join(OUT, "calibration.txt"), "w") as f:
        f.write("\n".join(cal) + "\n")
    print("\n".join(cal), file=sys.stderr)
    for l in (llm1, llm2, llm32):
        l.close()


if __name__ == "__main__":
    main()
