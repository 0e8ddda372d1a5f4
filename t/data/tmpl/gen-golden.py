#!/usr/bin/env python3
"""Render every template case with jinja2 (the oracle) into golden files.

    python3 t/data/tmpl/gen-golden.py        # from the top of the tree

jinja2 is configured as Hugging Face transformers renders chat templates:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols, generation tag]), tojson = json.dumps(x,
ensure_ascii=False, indent, separators, sort_keys), raise_exception() raising
TemplateError, strftime_now().

Inputs
  templates/smollm2.jinja, qwen3.jinja, llama3.jinja   extracted here from the
      embedded model's GGUF (tokenizer.chat_template) and from
      ../shared/tokenizers/{qwen3,llama3}/tokenizer_config.json (chat_template)
  templates/*.jinja (others)   hand-written templates exercising the subset
  cases/CASE.json   {"template": NAME, "vars": {...}} or {"source": "...",
      "vars": {...}} for a one-off template; optional "unsupported": {"line": N,
      "why": "..."} for constructs q rejects by design (jinja2 is not asked).
Outputs (golden/)
  CASE.vars.json   the variables, as JSON (ints stay ints, floats floats)
  CASE.jinja       the template of a "source" case
  CASE.txt         jinja2's rendering, bytes exactly (UTF-8)
  CASE.err         instead of .txt when jinja2 raises: the line and message
  MANIFEST         one line per case, tab-separated:
                   CASE  TEMPLATE-PATH  ok
                   CASE  TEMPLATE-PATH  err  LINE|?  [MESSAGE q must contain]
"""
import glob
import json
import os
import sys
import traceback

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.environ.get("Q_SHARED", os.path.join(TOP, "..", "shared"))
MODEL = os.path.join(TOP, "share", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")


class GenerationTag(jinja2.ext.Extension):
    """transformers' AssistantTracker when not tracking: renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    import datetime
    return datetime.datetime.now().strftime(fmt)


def make_env():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def write(path, data):
    with open(path, "wb") as f:
        f.write(data.encode("utf-8"))


def extract_real_templates():
    import gguf

    tdir = os.path.join(HERE, "templates")
    r = gguf.GGUFReader(MODEL)
    write(os.path.join(tdir, "smollm2.jinja"), r.fields["tokenizer.chat_template"].contents())
    for name in ("qwen3", "llama3"):
        with open(os.path.join(SHARED, "tokenizers", name, "tokenizer_config.json"), encoding="utf-8") as f:
            write(os.path.join(tdir, name + ".jinja"), json.load(f)["chat_template"])


def error_line(e):
    if isinstance(e, jinja2.exceptions.TemplateSyntaxError):
        return e.lineno
    line = None
    for fr in traceback.extract_tb(e.__traceback__):
        if fr.filename == "<template>":
            line = fr.lineno
    return line


def main():
    extract_real_templates()
    env = make_env()
    gdir = os.path.join(HERE, "golden")
    os.makedirs(gdir, exist_ok=True)
    for old in glob.glob(os.path.join(gdir, "*")):
        os.remove(old)
    manifest = []
    counts = {"ok": 0, "err": 0}
    for path in sorted(glob.glob(os.path.join(HERE, "cases", "*.json"))):
        case = os.path.basename(path)[:-5]
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        if "source" in spec:
            src = spec["source"]
            tpath = os.path.join(gdir, case + ".jinja")
            write(tpath, src)
        else:
            tpath = os.path.join(HERE, "templates", spec["template"] + ".jinja")
            with open(tpath, "rb") as f:
                src = f.read().decode("utf-8")
        rel = os.path.relpath(tpath, TOP)
        vars_ = spec.get("vars", {})
        write(os.path.join(gdir, case + ".vars.json"), json.dumps(vars_, ensure_ascii=False, indent=1) + "\n")
        if "unsupported" in spec:
            u = spec["unsupported"]
            write(os.path.join(gdir, case + ".err"),
                  "line %d\nunsupported by q by design: %s\n" % (u["line"], u["why"]))
            manifest.append("%s\t%s\terr\t%d\t" % (case, rel, u["line"]))
            counts["err"] += 1
            continue
        try:
            out = env.from_string(src).render(**vars_)
        except Exception as e:  # the oracle's verdict is an error: record it
            line = error_line(e)
            msg = str(e).replace("\n", " ")
            write(os.path.join(gdir, case + ".err"),
                  "line %s\n%s: %s\n" % (line if line else "?", type(e).__name__, msg))
            must = msg if type(e) is jinja2.exceptions.TemplateError else ""
            manifest.append("%s\t%s\terr\t%s\t%s" % (case, rel, line if line else "?", must))
            counts["err"] += 1
            continue
        write(os.path.join(gdir, case + ".txt"), out)
        manifest.append("%s\t%s\tok" % (case, rel))
        counts["ok"] += 1
    write(os.path.join(gdir, "MANIFEST"),
          "# made by: python3 t/data/tmpl/gen-golden.py (jinja2 %s, Python %s)\n"
          % (jinja2.__version__, sys.version.split()[0]) + "\n".join(manifest) + "\n")
    print("%d cases: %d rendered, %d errors" % (len(manifest), counts["ok"], counts["err"]))


if __name__ == "__main__":
    main()
