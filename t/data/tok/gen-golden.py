#!/usr/bin/env python3
"""Write the oracle token ids for t/data/tok/corpus.jsonl.

    python3 t/data/tok/gen-golden.py            # from the top of the tree

Needs the PyPI packages `tokenizers` (0.23.3 was used), `gguf` and
`llama-cpp-python` (0.3.36 was used), the shared tokenizers in
../shared/tokenizers, ../shared/models/stories260K.gguf, the embedded default
model share/models/SmolLM2-135M-Instruct.Q4_1.gguf (`make model`) and the
vocab-only GGUFs t/data/tok/{qwen3,llama3}-vocab.gguf.gz (make-vocab-ggufs.sh).

For every tokenizer NAME it writes, one line per corpus line (ids separated
by one space, an empty line for no ids):

  NAME.default.ids  add special tokens (BOS/EOS as configured), match
                    special-token text: HF tok.encode(s).ids, llama.cpp
                    tokenize(add_special=True, parse_special=True)
  NAME.raw.ids      no BOS/EOS, special-token text is plain text: HF
                    encode_special_tokens=True + add_special_tokens=False,
                    llama.cpp tokenize(add_special=False, parse_special=False)
  NAME.raw.decode-diff.jsonl   (only when not empty)
                    {"line": N, "text": T} for each corpus line whose oracle
                    decode of the raw ids is NOT the input itself.  HF:
                    decode(ids, skip_special_tokens=False).  llama.cpp: the
                    llama_token_to_piece() bytes concatenated, the first
                    piece without its leading space for SPM (= what
                    llama_detokenize gives, minus its lossy
                    clean_up_tokenization_spaces pass; where the two differ
                    is listed in oracle-diffs.txt)

NAME and oracle:
  qwen3         HF on ../shared/tokenizers/qwen3/tokenizer.json
  llama3        HF on ../shared/tokenizers/llama3/tokenizer.json
  smollm2       HF on a tokenizer rebuilt from the SmolLM2 GGUF metadata,
                cross-checked against llama.cpp on the GGUF itself
  qwen3-vocab   HF on the qwen3 tokenizer.json with each added token special
                exactly when qwen3-vocab.gguf types it CONTROL (what the GGUF
                declares); cross-checked against llama.cpp on the GGUF
  llama3-vocab  the same for llama3 / llama3-vocab.gguf
  stories260k   llama.cpp on ../shared/models/stories260K.gguf (SPM)

Every cross-check disagreement is written to oracle-diffs.txt (regenerated on
each run); README summarises it.
"""
import ctypes
import gzip
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.environ.get("Q_SHARED", os.path.join(TOP, "..", "shared"))
SMOL = os.path.join(TOP, "share", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
STORIES = os.path.join(SHARED, "models", "stories260K.gguf")


def read_corpus():
    with open(os.path.join(HERE, "corpus.jsonl"), encoding="utf-8") as f:
        data = f.read()
    # split("\n"), not splitlines(): lines may hold U+2028, U+0085 raw.
    lines = data.split("\n")
    assert lines[-1] == ""
    return [json.loads(x) for x in lines[:-1]]


# --- HF tokenizers -------------------------------------------------------

class HF:
    def __init__(self, tok):
        self.tok = tok

    def encode(self, s, raw):
        self.tok.encode_special_tokens = raw
        return self.tok.encode(s, add_special_tokens=not raw).ids

    def decode(self, ids):
        return self.tok.decode(ids, skip_special_tokens=False)


def hf_from_json(path):
    from tokenizers import Tokenizer
    return HF(Tokenizer.from_file(path))


def hf_from_smollm_gguf(path):
    """The SmolLM2 tokenizer rebuilt from GGUF metadata: BPE from tokens and
    merges, Digits(individual) + ByteLevel pre-tokenizer, ByteLevel decoder,
    CONTROL tokens as special added tokens."""
    import gguf
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    r = gguf.GGUFReader(path)
    f = r.fields
    assert f["tokenizer.ggml.model"].contents() == "gpt2"
    assert f["tokenizer.ggml.pre"].contents() == "smollm"
    toks = f["tokenizer.ggml.tokens"].contents()
    types = f["tokenizer.ggml.token_type"].contents()
    merges = f["tokenizer.ggml.merges"].contents()
    vocab = {t: i for i, t in enumerate(toks)}
    assert len(vocab) == len(toks)
    pairs = []
    for m in merges:
        a, b = m.split(" ")
        pairs.append((a, b))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    control = [t for t, ty in zip(toks, types) if ty == gguf.TokenType.CONTROL]
    assert tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control]) \
        == len(control)
    for t in control:
        assert tok.token_to_id(t) == vocab[t]
    return HF(tok)


def hf_as_gguf_declares(json_path, gguf_path):
    """The model's own HF tokenizer, with the specialness of its added tokens
    as the GGUF declares it (CONTROL = special).  A vocab-only GGUF made by
    llama.cpp's converter keeps the vocabulary and merges but types some
    non-special added tokens (Qwen's <|fim_prefix|> ...) CONTROL; with that
    one change the HF tokenizer is the oracle for the GGUF."""
    import gguf
    from tokenizers import AddedToken, Tokenizer
    tok = Tokenizer.from_file(json_path)
    types = gguf.GGUFReader(gguf_path).fields["tokenizer.ggml.token_type"].contents()
    for i, t in tok.get_added_tokens_decoder().items():
        if types[i] == gguf.TokenType.CONTROL and not t.special:
            assert tok.add_special_tokens([AddedToken(t.content, special=True, normalized=False)]) == 1
            assert tok.token_to_id(t.content) == i
    return HF(tok)


# --- llama.cpp -----------------------------------------------------------

class LCPP:
    def __init__(self, path):
        import llama_cpp
        self.lc = llama_cpp
        self.m = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        self.vocab = self.m._model.vocab

    def encode(self, s, raw):
        return self.m.tokenize(s.encode("utf-8"), add_bos=not raw, special=not raw)

    def detokenize(self, ids):
        """llama_detokenize(remove_special=False, unparse_special=False)."""
        lc = self.lc
        arr = (lc.llama_token * max(1, len(ids)))(*ids)
        size = 64 * len(ids) + 64
        buf = ctypes.create_string_buffer(size)
        n = lc.llama_detokenize(self.vocab, arr, len(ids), buf, size, False, False)
        assert 0 <= n <= size, n
        return buf.raw[:n].decode("utf-8", errors="replace")

    def decode(self, ids):
        """The pieces (llama_token_to_piece) concatenated, the first one
        without its leading space for SPM: what llama.cpp streams, and what
        llama_detokenize gives minus its clean_up_tokenization_spaces pass."""
        lc = self.lc
        spm = lc.llama_vocab_type(self.vocab) == lc.LLAMA_VOCAB_TYPE_SPM
        out = b""
        buf = ctypes.create_string_buffer(1024)
        for i, t in enumerate(ids):
            n = lc.llama_token_to_piece(self.vocab, t, buf, 1024, 1 if (i == 0 and spm) else 0, False)
            assert 0 <= n <= 1024, n
            out += buf.raw[:n]
        return out.decode("utf-8", errors="replace")


# --- output --------------------------------------------------------------

def esc(s, n=120):
    e = json.dumps(s, ensure_ascii=True)
    return e if len(e) <= n else e[:n] + "...\""


def write_ids(name, mode, rows):
    with open(os.path.join(HERE, f"{name}.{mode}.ids"), "w", encoding="ascii") as f:
        for ids in rows:
            f.write(" ".join(str(i) for i in ids) + "\n")


def run(report, name, oracle, corpus):
    res = {}
    for mode in ("default", "raw"):
        res[mode] = [oracle.encode(s, mode == "raw") for s in corpus]
        write_ids(name, mode, res[mode])
    diffs = []
    for i, (s, ids) in enumerate(zip(corpus, res["raw"])):
        d = oracle.decode(ids)
        if d != s:
            diffs.append({"line": i + 1, "text": d})
    path = os.path.join(HERE, f"{name}.raw.decode-diff.jsonl")
    if diffs:
        with open(path, "w", encoding="utf-8") as f:
            for d in diffs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
    elif os.path.exists(path):
        os.remove(path)
    if isinstance(oracle, LCPP):
        report.append(f"== {name}: llama_detokenize vs concatenated pieces (raw ids)")
        bad = []
        for i, ids in enumerate(res["raw"]):
            a, b = oracle.detokenize(ids), oracle.decode(ids)
            if a != b:
                bad.append(f"line {i + 1}: {esc(corpus[i])}\n  llama_detokenize: {esc(a)}")
        report.append(f"-- {len(corpus) - len(bad)}/{len(corpus)} identical")
        report += bad
    print(f"{name}: {len(corpus)} lines, {sum(map(len, res['default']))} default ids, "
          f"{sum(map(len, res['raw']))} raw ids, {len(diffs)} decode != input", file=sys.stderr)
    return res


def cross_check(report, title, corpus, a_name, a, b_name, b):
    report.append(f"== {title}")
    for mode in ("default", "raw"):
        bad = [i for i in range(len(corpus)) if a[mode][i] != b[mode][i]]
        report.append(f"-- {mode}: {len(corpus) - len(bad)}/{len(corpus)} identical")
        for i in bad:
            report.append(f"line {i + 1}: {esc(corpus[i])}")
            report.append(f"  {a_name}: {' '.join(map(str, a[mode][i]))}")
            report.append(f"  {b_name}: {' '.join(map(str, b[mode][i]))}")


def gunzip_to(tmp, name):
    out = os.path.join(tmp, name)
    with gzip.open(os.path.join(HERE, name + ".gz"), "rb") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def main():
    corpus = read_corpus()
    report = []
    tmp = tempfile.mkdtemp(prefix="gen-golden.")
    try:
        qwen3 = run(report, "qwen3", hf_from_json(os.path.join(SHARED, "tokenizers", "qwen3", "tokenizer.json")),
                    corpus)
        llama3 = run(report, "llama3", hf_from_json(os.path.join(SHARED, "tokenizers", "llama3", "tokenizer.json")),
                     corpus)
        smol_hf = run(report, "smollm2", hf_from_smollm_gguf(SMOL), corpus)
        smol_lcpp = LCPP(SMOL)
        smol_lc = {mode: [smol_lcpp.encode(s, mode == "raw") for s in corpus] for mode in ("default", "raw")}
        cross_check(report, "smollm2: HF (rebuilt from GGUF) vs llama.cpp (same GGUF)", corpus,
                    "hf", smol_hf, "llama.cpp", smol_lc)
        for name in ("qwen3", "llama3"):
            gg = gunzip_to(tmp, f"{name}-vocab.gguf")
            hf = run(report, f"{name}-vocab",
                     hf_as_gguf_declares(os.path.join(SHARED, "tokenizers", name, "tokenizer.json"), gg), corpus)
            lc = LCPP(gg)
            lcr = {mode: [lc.encode(s, mode == "raw") for s in corpus] for mode in ("default", "raw")}
            cross_check(report, f"{name}-vocab: llama.cpp (converted GGUF) vs HF {name} tokenizer.json "
                        "with the GGUF's token types", corpus, "llama.cpp", lcr, "hf", hf)
            cross_check(report, f"{name}-vocab: HF with the GGUF's token types vs HF {name} tokenizer.json",
                        corpus, "hf-as-gguf", hf, "hf", qwen3 if name == "qwen3" else llama3)
        run(report, "stories260k", LCPP(STORIES), corpus)
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(HERE, "oracle-diffs.txt"), "w", encoding="ascii") as f:
        f.write("# Written by: python3 t/data/tok/gen-golden.py (cross-checks between oracles)\n")
        f.write("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
