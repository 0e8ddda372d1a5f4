#!/usr/bin/env python3
"""Golden files for qtok --chat: what Hugging Face transformers would give.

Renders each request in requests.jsonl with the model's chat template through
jinja2 configured as transformers configures it, then tokenizes the prompt with
HF `tokenizers` (add_special_tokens=False, as apply_chat_template does).
Writes NAME.render and NAME.ids for each request and tokenizer.

Run from the top of the tree:  python3 t/data/qtok/gen-golden.py
Needs: jinja2, tokenizers (PyPI).
"""
import json, os, sys
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "..", "shared")
TOKENIZERS = {
    "qwen3": os.path.join(SHARED, "tokenizers", "qwen3"),
    "llama3": os.path.join(SHARED, "tokenizers", "llama3"),
}


def env():
    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    e.filters["tojson"] = tojson
    e.globals["raise_exception"] = raise_exception
    return e


def token_text(v):
    if isinstance(v, dict):
        return v.get("content", "")
    return v or ""


def main():
    reqs = [json.loads(l) for l in open(os.path.join(HERE, "requests.jsonl"), encoding="utf-8")]
    for name, d in TOKENIZERS.items():
        cfg = json.load(open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8"))
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        tmpl = env().from_string(cfg["chat_template"])
        for i, r in enumerate(reqs):
            kw = dict(messages=r["messages"], add_generation_prompt=r.get("add_generation_prompt", True),
                      bos_token=token_text(cfg.get("bos_token")), eos_token=token_text(cfg.get("eos_token")))
            if r.get("tools") is not None:
                kw["tools"] = r["tools"]
            kw.update(r.get("chat_template_kwargs") or {})
            text = tmpl.render(**kw)
            ids = tok.encode(text, add_special_tokens=False).ids
            base = os.path.join(HERE, f"{name}.{i}")
            with open(base + ".render", "w", encoding="utf-8", newline="") as f:
                f.write(text)
            with open(base + ".ids", "w") as f:
                f.write(" ".join(map(str, ids)) + "\n")
    print(f"wrote {len(reqs)} requests x {len(TOKENIZERS)} tokenizers", file=sys.stderr)


if __name__ == "__main__":
    main()
