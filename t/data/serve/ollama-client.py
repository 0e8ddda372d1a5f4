#!/usr/bin/env python3
"""ollama-client.py - drive an Ollama-compatible server with the real `ollama`
PyPI client and check the shapes it gets back.

    python3 t/data/serve/ollama-client.py HOST MODEL

HOST is the server's root URL (http://127.0.0.1:8080); MODEL the served model
name.  Prints one TAP line per check ("ok 3 - generate stream: 9 parts"),
"# " notes, and the plan "1..N" last; exits 1 if any check failed, 2 on a
usage error or when the ollama package is missing.  Requests are greedy
(temperature 0) or structural, so the checks hold for any model that can
answer a few English prompts.

Written against ollama 0.6.3 (python3 -m pip install ollama).  llama.cpp's
llama-server has no Ollama API, so this one is debugged against qserve only.
"""
import json
import os
import sys
from tap import check, finish, want
import urllib.request

try:
    import ollama
except ImportError:
    print("ollama-client.py: error: the ollama package is missing "
          "(python3 -m pip install ollama)", file=sys.stderr)
    sys.exit(2)

LONG = "Write a long story about a dragon who learns to bake bread."
TIMEOUT = float(os.environ.get("Q_CLIENT_TIMEOUT", "120"))
GREEDY = {"temperature": 0, "num_predict": 16}

def final_ok(r, how, reasons=("stop", "length")):
    """The fields a finished (non-stream or last streamed) response carries."""
    want(r.done is True, f"{how}: done {r.done!r}")
    want(r.done_reason in reasons, f"{how}: done_reason {r.done_reason!r}, want one of {reasons}")
    want(isinstance(r.eval_count, int) and r.eval_count > 0, f"{how}: eval_count {r.eval_count!r}")
    want(isinstance(r.prompt_eval_count, int) and r.prompt_eval_count > 0,
         f"{how}: prompt_eval_count {r.prompt_eval_count!r}")
    for f in ("total_duration", "eval_duration"):
        v = getattr(r, f)
        want(v is None or (isinstance(v, int) and v >= 0), f"{how}: {f} {v!r}")


def main():
    if len(sys.argv) != 3:
        print("usage: ollama-client.py HOST MODEL", file=sys.stderr)
        sys.exit(2)
    host, model = sys.argv[1].rstrip("/"), sys.argv[2]
    client = ollama.Client(host=host, timeout=TIMEOUT)
    print(f"# ollama client against {host}, model {model}")
    msgs = [{"role": "user", "content": LONG}]

    @check("GET /api/version: a version string")
    def _():
        with urllib.request.urlopen(host + "/api/version", timeout=TIMEOUT) as resp:
            want(resp.status == 200, f"status {resp.status}")
            body = json.load(resp)
        want(isinstance(body.get("version"), str) and body["version"], f"body {body}")
        return body["version"]

    @check("list(): MODEL among the models")
    def _():
        names = [m.model for m in client.list().models]
        want(model in names or f"{model}:latest" in names, f"models {names}, want {model!r}")
        return f"{len(names)} model(s)"

    @check("show(MODEL): details or model_info")
    def _():
        r = client.show(model)
        d = r.details
        want((d is not None and (d.format or d.family)) or r.modelinfo,
             f"show: no details and no model_info: {r}")
        fam = d.family if d is not None else None
        return f"format {d.format if d else None!r}, family {fam!r}"

    @check("generate: text, done, done_reason, counts")
    def _():
        r = client.generate(model=model, prompt=LONG, options=GREEDY)
        want(isinstance(r.response, str) and r.response.strip(), f"response {r.response!r}")
        want(r.model in (model, f"{model}:latest"), f"model {r.model!r}")
        final_ok(r, "generate")
        want(r.eval_count <= 16, f"eval_count {r.eval_count} > num_predict 16")
        return f"{r.eval_count} tokens, {r.done_reason}"

    @check("generate stream: parts, only the last done, same text as non-stream")
    def _():
        whole = client.generate(model=model, prompt=LONG, options=GREEDY).response
        parts = list(client.generate(model=model, prompt=LONG, options=GREEDY, stream=True))
        want(len(parts) >= 2, f"{len(parts)} parts")
        for i, p in enumerate(parts[:-1]):
            want(not p.done, f"part {i + 1} of {len(parts)} has done {p.done!r}")
        final_ok(parts[-1], "last part")
        text = "".join(p.response or "" for p in parts)
        want(text == whole, f"streamed {text!r}, non-stream {whole!r}")
        return f"{len(parts)} parts, eval_count {parts[-1].eval_count}"

    @check("chat: assistant message, done, counts")
    def _():
        r = client.chat(model=model, messages=msgs, options=GREEDY)
        want(r.message.role == "assistant", f"role {r.message.role!r}")
        want(isinstance(r.message.content, str) and r.message.content.strip(),
             f"content {r.message.content!r}")
        final_ok(r, "chat")
        return f"{r.eval_count} tokens: {r.message.content[:40]!r}"

    @check("chat stream: parts, only the last done, same text as non-stream")
    def _():
        whole = client.chat(model=model, messages=msgs, options=GREEDY).message.content
        parts = list(client.chat(model=model, messages=msgs, options=GREEDY, stream=True))
        want(len(parts) >= 2, f"{len(parts)} parts")
        for i, p in enumerate(parts[:-1]):
            want(not p.done, f"part {i + 1} of {len(parts)} has done {p.done!r}")
            want(p.message.role == "assistant", f"part {i + 1}: role {p.message.role!r}")
        final_ok(parts[-1], "last part")
        text = "".join(p.message.content or "" for p in parts)
        want(text == whole, f"streamed {text!r}, non-stream {whole!r}")
        return f"{len(parts)} parts"

    @check("options num_predict=8, temperature=0: eval_count 8, done_reason length")
    def _():
        r = client.generate(model=model, prompt=LONG, options={"num_predict": 8, "temperature": 0})
        want(r.eval_count == 8, f"eval_count {r.eval_count}")
        want(r.done_reason == "length", f"done_reason {r.done_reason!r}")
        return repr(r.response)

    @check("greedy (temperature 0) twice: identical text")
    def _():
        a = client.chat(model=model, messages=msgs, options=GREEDY).message.content
        b = client.chat(model=model, messages=msgs, options=GREEDY).message.content
        want(a == b, f"first {a!r}\nsecond {b!r}")
        return f"{len(a)} chars"

    finish()


if __name__ == "__main__":
    main()
