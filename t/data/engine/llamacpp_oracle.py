"""Helpers shared by gen-smollm2.py and gen-stories260k.py: llama.cpp (as
vendored by llama-cpp-python 0.3.36) as the oracle for greedy continuations
and logits, and chat-template rendering as Hugging Face transformers does it.

Oracle settings, the same everywhere unless a caller says otherwise:
  llama_cpp.Llama(logits_all=True, flash_attn=False, n_batch=n_ubatch=512,
  KV cache as llama.cpp's default (F16) unless kv= is given, seed unused).
  Greedy = argmax computed here from the logits (first index on ties), not
  llama.cpp's sampler.  A prompt is decoded in one llama_decode per 512
  tokens, then one decode per generated token, as llama.cpp's own tools do.
"""
import json

import jinja2
import jinja2.ext
import numpy as np
from jinja2.sandbox import ImmutableSandboxedEnvironment
import llama_cpp


def isa():
    """The x86 ISA llama.cpp's CPU kernels were built for (GGML_NATIVE: the
    machine's), named as our kernels name theirs: "avx512", "avx2" or "ref".
    llama.cpp adds in another order on each, so every golden set that holds
    its logits or greedy ids lives in a directory named after it."""
    info = llama_cpp.llama_print_system_info().decode()
    if "AVX512 = 1" in info:
        return "avx512"
    if "AVX2 = 1" in info:
        return "avx2"
    return "ref"


def open_model(path, threads=1, n_ctx=2048, kv=None):
    """A llama_cpp.Llama on PATH with THREADS threads and logits for every
    position; kv = a GGML_TYPE_* for the KV cache, None for the default."""
    kw = {}
    if kv is not None:
        kw = dict(type_k=kv, type_v=kv)
    return llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=512, n_ubatch=512,
                           n_threads=threads, n_threads_batch=threads, logits_all=True,
                           flash_attn=False, verbose=False, **kw)


def tokenize(llm, text):
    """llama.cpp's ids for TEXT: BOS per the GGUF's add_bos_token, special
    tokens parsed (parse_special = True)."""
    return llm.tokenize(text.encode("utf-8"), add_bos=llm._model.add_bos_token(), special=True)


def is_eog(llm, tok):
    """llama.cpp's end-of-generation test (EOS, EOT and the tokens it marks EOG)."""
    return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, tok))


def top2_gap(row):
    """Top-1 minus top-2 logit of one row (0 on an exact tie)."""
    t = np.partition(row, -2)[-2:]
    return float(t[1] - t[0])


def greedy(llm, prompt, n):
    """Greedy continuation of PROMPT (ids): up to N ids, stopping after an
    end-of-generation id (which is kept).  Returns (ids, gaps, logits) where
    gaps[i] is the top-1/top-2 gap of the logits that chose ids[i] and logits
    is a float32 array [len(prompt) + len(ids) - 1 ... ] of every position's
    logits (prompt positions from the prompt decode, then one row per
    generated step)."""
    llm.reset()
    llm.eval(prompt)
    ids, gaps = [], []
    for _ in range(n):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        tok = int(np.argmax(row))
        ids.append(tok)
        gaps.append(top2_gap(row))
        if is_eog(llm, tok) or len(ids) == n:
            break
        llm.eval([tok])
    logits = np.array(llm.scores[:llm.n_tokens], dtype=np.float32)
    return ids, gaps, logits


def forced_logits(llm, ids):
    """Teacher-forced logits of IDS: float32 [len(ids)][n_vocab], row p the
    logits after ids[0..p]."""
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[:len(ids)], dtype=np.float32)


class _GenerationTag(jinja2.ext.Extension):
    """transformers' {% generation %} tag when not tracking: renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def render_chat(template, messages, bos_token, eos_token):
    """TEMPLATE rendered as transformers' apply_chat_template(tokenize=False,
    add_generation_prompt=True) does: ImmutableSandboxedEnvironment with
    trim_blocks, lstrip_blocks, loopcontrols, tojson, raise_exception."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[_GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    return env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                            bos_token=bos_token, eos_token=eos_token)
