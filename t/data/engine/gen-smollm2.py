#!/usr/bin/env python3
"""SmolLM2-135M-Instruct Q4_1 golden data from llama.cpp (the oracle).

    python3 t/data/engine/gen-smollm2.py      # from the top of the tree

Needs: share/models/SmolLM2-135M-Instruct.Q4_1.gguf (`make model`), the PyPI
packages llama-cpp-python==0.3.36, jinja2, numpy.  Writes into
t/data/engine/smollm2/ (formats in t/data/engine/README):

  prompts.jsonl     the 28 prompts: plain text and chat (rendered here with the
                    GGUF's chat template, add_generation_prompt) and llama.cpp's
                    ids for each (no BOS: the GGUF says add_bos_token = false;
                    special tokens parsed)
  greedy.txt        llama.cpp's greedy continuation (128 ids, or fewer when it
                    chose an end-of-generation id) and the top-1/top-2 logit
                    gap of every step; KV cache F16 (llama.cpp's default)
  greedy-kvf32.txt  the same with an F32 KV cache (for an engine that keeps
                    F32 K/V; calibration, see README)
  tf-seqs.txt       the teacher-forced sequences: each prompt + its greedy
                    continuation, then three long texts written for this file
  tf.txt            teacher-forced top-8 ids and logits at every position of
                    every sequence (KV F16), %.9g (exact float32)
  tf-full.txt       which (sequence, position) rows are in tf-full.f32.gz
  tf-full.f32.gz    full logit vectors (49152 float32 LE per row) of every
                    FULL_STRIDE-th position (counting over all sequences)
  calibration.txt   how far llama.cpp moves from these goldens when only the
                    thread count or the KV cache type changes

All of it on 1 thread; the same runs on 2 threads are compared and the
result written to calibration.txt (the script fails if greedy ids differ).
Deterministic: same bytes on the same CPU and llama.cpp build.
"""
import gzip
import json
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
N_GEN = 128
TOP_K = 8
FULL_STRIDE = 250

PLAIN = [
    "Once upon a time, in a small village by the sea, there lived",
    "The capital of France is",
    'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n',
    "Here is a list of five fruits:\n1.",
    "1, 2, 3, 5, 8, 13, 21,",
    "La ville de Paris est connue pour",
    "The theory of relativity, developed by Albert Einstein,",
    "#include <stdio.h>\n\nint main(void)\n{\n",
    "Q: What is the boiling point of water at sea level?\nA:",
    "In 1969, the Apollo 11 mission",
    "Ingredients for pancakes:\n-",
    "SELECT name, email FROM users WHERE",
    "Die Hauptstadt von Deutschland ist",
    "Hello",
    "Photosynthesis is the process by which",
    "Dear Sir or Madam,\n\nI am writing to",
    "12 * 12 = 144\n13 * 13 =",
]

CHAT = [
    [{"role": "user", "content": "What is the capital of Japan?"}],
    [{"role": "system", "content": "You are a helpful assistant who answers briefly."},
     {"role": "user", "content": "Give me three tips for better sleep."}],
    [{"role": "user", "content": "Write a haiku about autumn leaves."}],
    [{"role": "user", "content": "Translate 'Good morning, how are you?' into Spanish."}],
    [{"role": "user", "content": "Explain what a hash table is in two sentences."}],
    [{"role": "user", "content": "Write a Python function that reverses a string."}],
    [{"role": "user", "content": "Hi! My name is Ana."},
     {"role": "assistant", "content": "Hello Ana! How can I help you today?"},
     {"role": "user", "content": "What is my name?"}],
    [{"role": "user", "content": "List the planets of the solar system in order."}],
    [{"role": "user", "content": "¿Cuál es el río más largo del mundo?"}],
    [{"role": "system", "content": "You are a math tutor."},
     {"role": "user", "content": "Solve: 23 + 19 = ?"}],
    [{"role": "user", "content": "Tell me a short story about a robot who learns to paint."}],
]

# Long texts for teacher forcing, written for this file.
LONG = [
    """The lighthouse at the end of the northern pier was built in 1871, when the harbour still sent out more fishing boats than ferries. Its keeper lived in a narrow stone house at the foot of the tower and climbed the one hundred and twelve steps four times a night to trim the wick, wind the clockwork that turned the lens, and write the weather in a leather book. The books survive. They record gales that lasted a week, a winter when the bay froze far enough for children to walk to the buoy, and a summer evening in 1903 when the keeper counted more than three hundred swallows resting on the gallery rail.

Electric light arrived in 1926, and with it the first automatic timer. The keeper stayed on for another thirty years, partly because the town council did not trust the timer and partly because nobody else knew how to repair the lens when a storm cracked one of its prisms. When he retired, the council sold the stone house to a painter, who filled it with canvases of the same view in every season: grey water, a white tower, and a line of small boats coming home before dark.

Today the light is controlled from a computer in the harbour office, and the tower is open to visitors on Sunday afternoons. Most of them climb the steps, look at the lens, and ask the same question the children asked in 1871: how can a flame so small be seen so far away? The answer is written on a card by the door. The lens gathers the light that would have spread in every direction and bends it into a single beam, so that a sailor twenty miles out sees not the flame itself but the whole tower, for a moment, shining straight at him.""",
    '''import os
import sys


class Inventory:
    """A small in-memory inventory of items and their quantities."""

    def __init__(self):
        self.items = {}

    def add(self, name, count=1):
        """Add COUNT units of NAME; COUNT must be positive."""
        if count <= 0:
            raise ValueError("count must be positive")
        self.items[name] = self.items.get(name, 0) + count

    def remove(self, name, count=1):
        """Remove COUNT units of NAME; it is an error to remove more than exist."""
        have = self.items.get(name, 0)
        if count > have:
            raise KeyError(f"only {have} of {name} in stock")
        if count == have:
            del self.items[name]
        else:
            self.items[name] = have - count

    def total(self):
        return sum(self.items.values())

    def report(self, out=sys.stdout):
        for name in sorted(self.items):
            print(f"{name:20s} {self.items[name]:5d}", file=out)
        print(f"{'total':20s} {self.total():5d}", file=out)


def load(path):
    """Read an inventory from a file of 'name count' lines."""
    inv = Inventory()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, count = line.rsplit(None, 1)
            inv.add(name, int(count))
    return inv


if __name__ == "__main__":
    inv = load(sys.argv[1] if len(sys.argv) > 1 else os.path.join("data", "stock.txt"))
    inv.report()
''',
    """Mara had never baked bread before, but the recipe her grandmother left on the back of an envelope looked simple enough: flour, water, salt, a spoon of yeast, and "patience, more than you think." She mixed everything in the big blue bowl and waited. After an hour the dough had not moved. After two hours it had risen a little, like someone taking a slow breath. She pressed a finger into it and watched the dent fill in, the way her grandmother had shown her years ago. Then she shaped the loaf, slashed the top with a knife, and slid it into the oven. The kitchen filled with a smell she had forgotten she remembered. When the bread came out, golden and hollow when she tapped it, she cut the first slice before it had cooled, burned her fingers, and did not mind at all.""",
]


def fmt_gap(g):
    return f"{g:.6f}"


def main():
    if not os.path.exists(MODEL):
        raise SystemExit(f"gen-smollm2: {MODEL}: missing (make model)")
    os.makedirs(OUT, exist_ok=True)
    r = gguf.GGUFReader(MODEL)
    template = r.fields["tokenizer.chat_template"].contents()
    toks = r.fields["tokenizer.ggml.tokens"]
    tok_text = lambda i: bytes(toks.parts[toks.data[i]]).decode("utf-8")  # noqa: E731
    bos = tok_text(int(r.fields["tokenizer.ggml.bos_token_id"].contents()))
    eos = tok_text(int(r.fields["tokenizer.ggml.eos_token_id"].contents()))

    llm1 = oracle.open_model(MODEL, threads=1)
    prompts = []
    for text in PLAIN:
        prompts.append({"kind": "plain", "text": text})
    for msgs in CHAT:
        prompts.append({"kind": "chat", "messages": msgs,
                        "text": oracle.render_chat(template, msgs, bos, eos)})
    for i, p in enumerate(prompts):
        p["n"] = i
        p["ids"] = oracle.tokenize(llm1, p["text"])
    with open(os.path.join(OUT, "prompts.jsonl"), "w", encoding="utf-8") as f:
        for p in prompts:
            rec = {"n": p["n"], "kind": p["kind"], "text": p["text"]}
            if "messages" in p:
                rec["messages"] = p["messages"]
            rec["ids"] = p["ids"]
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    # greedy: 1 thread F16 KV (the golden), 2 threads F16 KV, 1 thread F32 KV
    llm2 = oracle.open_model(MODEL, threads=2)
    llm32 = oracle.open_model(MODEL, threads=1, kv=llama_cpp.GGML_TYPE_F32)
    cal = []
    gold, gold32 = [], []
    n_diff_t2 = 0
    kv_div = []
    for p in prompts:
        ids, gaps, _ = oracle.greedy(llm1, p["ids"], N_GEN)
        ids2, _, _ = oracle.greedy(llm2, p["ids"], N_GEN)
        ids32, gaps32, _ = oracle.greedy(llm32, p["ids"], N_GEN)
        if ids2 != ids:
            n_diff_t2 += 1
        gold.append((ids, gaps))
        gold32.append((ids32, gaps32))
        # first step where F32-KV greedy leaves the F16-KV golden, and the
        # smallest golden gap at or before it
        k = next((j for j in range(min(len(ids), len(ids32))) if ids[j] != ids32[j]), None)
        if k is None and len(ids) != len(ids32):
            k = min(len(ids), len(ids32))
        if k is not None:
            kv_div.append((p["n"], k, min(gaps[:k + 1]) if k < len(gaps) else min(gaps)))
        print(f"prompt {p['n']}: {len(p['ids'])} ids, {len(ids)} generated", file=sys.stderr)
    for name, rows in (("greedy.txt", gold), ("greedy-kvf32.txt", gold32)):
        with open(os.path.join(OUT, name), "w") as f:
            for p, (ids, gaps) in zip(prompts, rows):
                f.write(f"{p['n']}\t{' '.join(map(str, p['ids']))}\t{' '.join(map(str, ids))}\t"
                        f"{' '.join(fmt_gap(g) for g in gaps)}\n")
    if n_diff_t2:
        raise SystemExit(f"gen-smollm2: {n_diff_t2} prompts give other greedy ids on 2 threads")
    cal.append(f"greedy, 2 threads vs 1 (KV F16): identical ids for all {len(prompts)} prompts")
    cal.append(f"greedy, KV F32 vs KV F16 (1 thread): {len(kv_div)} of {len(prompts)} prompts differ")
    for n, k, g in kv_div:
        cal.append(f"  prompt {n}: first differing step {k}, smallest F16-KV gap up to it {g:.6f}")

    # teacher forcing
    seqs = [("prompt", p["n"], p["ids"] + gold[i][0]) for i, p in enumerate(prompts)]
    for j, text in enumerate(LONG):
        seqs.append(("long", j, oracle.tokenize(llm1, text)))
    with open(os.path.join(OUT, "tf-seqs.txt"), "w") as f:
        for s, (kind, n, ids) in enumerate(seqs):
            f.write(f"{s}\t{kind}\t{n}\t{' '.join(map(str, ids))}\n")
    g = 0
    full_rows = []
    top1_t2 = top1_32 = total = 0
    maxdiff_t2 = maxdiff_32 = 0.0
    with open(os.path.join(OUT, "tf.txt"), "w") as f, \
            gzip.GzipFile(os.path.join(OUT, "tf-full.f32.gz"), "wb", mtime=0) as fz:
        for s, (kind, n, ids) in enumerate(seqs):
            lg = oracle.forced_logits(llm1, ids)
            lg2 = oracle.forced_logits(llm2, ids)
            lg32 = oracle.forced_logits(llm32, ids)
            a1 = lg.argmax(axis=1)
            top1_t2 += int(np.sum(lg2.argmax(axis=1) == a1))
            top1_32 += int(np.sum(lg32.argmax(axis=1) == a1))
            total += len(ids)
            maxdiff_t2 = max(maxdiff_t2, float(np.max(np.abs(lg2 - lg))))
            maxdiff_32 = max(maxdiff_32, float(np.max(np.abs(lg32 - lg))))
            for pos in range(len(ids)):
                row = lg[pos]
                top = np.argsort(-row, kind="stable")[:TOP_K]
                f.write(f"{s}\t{pos}\t{ids[pos]}\t{' '.join(str(int(t)) for t in top)}\t"
                        f"{' '.join(f'{row[t]:.9g}' for t in top)}\n")
                if g % FULL_STRIDE == 0:
                    full_rows.append((s, pos))
                    fz.write(row.astype("<f4").tobytes())
                g += 1
            print(f"seq {s}: {len(ids)} positions", file=sys.stderr)
    with open(os.path.join(OUT, "tf-full.txt"), "w") as f:
        for i, (s, pos) in enumerate(full_rows):
            f.write(f"{i}\t{s}\t{pos}\n")
    cal.append(f"teacher-forced, {total} positions in {len(seqs)} sequences:")
    cal.append(f"  2 threads vs 1: top-1 agreement {top1_t2}/{total}, max |logit diff| {maxdiff_t2:.6g}")
    cal.append(f"  KV F32 vs KV F16: top-1 agreement {top1_32}/{total}, max |logit diff| {maxdiff_32:.6g}")
    with open(os.path.join(OUT, "calibration.txt"), "w") as f:
        f.write("\n".join(cal) + "\n")
    print("\n".join(cal), file=sys.stderr)
    for l in (llm1, llm2, llm32):
        l.close()


if __name__ == "__main__":
    main()
