#!/usr/bin/env python3
"""openai-client.py - drive an OpenAI-compatible server with the real `openai`
PyPI client (sync OpenAI and AsyncOpenAI) and check the shapes it gets back.

    python3 t/data/serve/openai-client.py BASE_URL MODEL

BASE_URL is the server's root or its /v1 (http://127.0.0.1:8080 or
http://127.0.0.1:8080/v1); MODEL the served model name.  The API key is
$OPENAI_API_KEY (default "sk-no-key": a server without --api-key ignores it).
Prints one TAP line per check ("ok 3 - chat stream: 9 chunks"), "# " notes,
and the plan "1..N" last; exits 1 if any check failed, 2 on a usage error or
when the openai package is missing.  Every request is greedy or structural,
so the checks hold for any model that can answer a few English prompts.

Written against openai 3.63.0 (python3 -m pip install openai); also runs
green against llama.cpp's llama-server --jinja (t/bench/build-llamacpp),
so that it is debugged independently of qserve.
"""
import asyncio
import os
import sys
from tap import check, finish, want

try:
    import openai
except ImportError:
    print("openai-client.py: error: the openai package is missing "
          "(python3 -m pip install openai)", file=sys.stderr)
    sys.exit(2)

LONG = "Write a long story about a dragon who learns to bake bread."
COUNT = "Count from 1 to 30, separated by commas."
TIMEOUT = float(os.environ.get("Q_CLIENT_TIMEOUT", "120"))

def main():
    if len(sys.argv) != 3:
        print("usage: openai-client.py BASE_URL MODEL", file=sys.stderr)
        sys.exit(2)
    base, model = sys.argv[1].rstrip("/"), sys.argv[2]
    if not base.endswith("/v1"):
        base += "/v1"
    key = os.environ.get("OPENAI_API_KEY", "sk-no-key")
    client = openai.OpenAI(base_url=base, api_key=key, timeout=TIMEOUT, max_retries=0)
    print(f"# openai {openai.__version__} against {base}, model {model}")

    def chat(content, **kw):
        return client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": content}], **kw)

    @check("models.list() contains MODEL")
    def _():
        ids = [m.id for m in client.models.list()]
        want(model in ids, f"model ids {ids}, want {model!r} among them")
        return f"{len(ids)} model(s)"

    @check("chat: one choice, assistant message, usage")
    def _():
        r = chat("What is the capital of France? Answer in one sentence.",
                 max_tokens=32, temperature=0)
        want(r.object == "chat.completion", f"object {r.object!r}")
        want(len(r.choices) == 1, f"{len(r.choices)} choices")
        c = r.choices[0]
        want(c.index == 0, f"index {c.index}")
        want(c.message.role == "assistant", f"role {c.message.role!r}")
        want(isinstance(c.message.content, str) and c.message.content.strip(),
             f"content {c.message.content!r}")
        want(c.finish_reason in ("stop", "length"), f"finish_reason {c.finish_reason!r}")
        u = r.usage
        want(u is not None and u.prompt_tokens > 0 and 0 < u.completion_tokens <= 32
             and u.total_tokens == u.prompt_tokens + u.completion_tokens, f"usage {u}")
        return f"{u.completion_tokens} tokens, {c.finish_reason}: {c.message.content[:40]!r}"

    @check("chat stream: chunks, content, one finish_reason at the end")
    def _():
        text, n, finish, roles = "", 0, [], set()
        for ch in chat(LONG, max_tokens=16, temperature=0, stream=True):
            n += 1
            want(ch.object == "chat.completion.chunk", f"chunk object {ch.object!r}")
            want(ch.usage is None, f"chunk {n} has usage {ch.usage} without include_usage")
            want(len(ch.choices) == 1, f"chunk {n}: {len(ch.choices)} choices")
            c = ch.choices[0]
            if c.delta.role:
                roles.add(c.delta.role)
            text += c.delta.content or ""
            if c.finish_reason:
                finish.append((n, c.finish_reason))
        want(text.strip(), "no content streamed")
        want(roles <= {"assistant"}, f"delta roles {roles}")
        want(len(finish) == 1 and finish[0][0] == n and finish[0][1] == "length",
             f"finish_reason (chunk, reason): {finish}, {n} chunks, want one 'length' in the last")
        return f"{n} chunks"

    @check("completions: text, finish_reason, usage")
    def _():
        r = client.completions.create(model=model, prompt="The capital of France is",
                                      max_tokens=12, temperature=0)
        want(r.object == "text_completion", f"object {r.object!r}")
        want(len(r.choices) == 1 and r.choices[0].index == 0, f"choices {r.choices}")
        c = r.choices[0]
        want(isinstance(c.text, str) and c.text.strip(), f"text {c.text!r}")
        want(c.finish_reason in ("stop", "length"), f"finish_reason {c.finish_reason!r}")
        u = r.usage
        want(u is not None and u.prompt_tokens > 0 and 0 < u.completion_tokens <= 12, f"usage {u}")
        return f"{u.completion_tokens} tokens: {c.text[:40]!r}"

    @check("completions stream: same text as non-stream (greedy)")
    def _():
        kw = dict(model=model, prompt="Once upon a time", max_tokens=16, temperature=0)
        whole = client.completions.create(**kw).choices[0].text
        text, n, finish = "", 0, None
        for ch in client.completions.create(stream=True, **kw):
            n += 1
            want(ch.object == "text_completion", f"chunk object {ch.object!r}")
            want(len(ch.choices) == 1, f"chunk {n}: {len(ch.choices)} choices")
            text += ch.choices[0].text or ""
            finish = ch.choices[0].finish_reason or finish
        want(text == whole, f"streamed {text!r}, non-stream {whole!r}")
        want(finish == "length", f"finish_reason {finish!r}")
        return f"{n} chunks"

    @check("n=2: two choices, indices 0 and 1")
    def _():
        r = chat("Name a colour.", max_tokens=8, temperature=0.8, n=2)
        idx = sorted(c.index for c in r.choices)
        want(idx == [0, 1], f"indices {idx}")
        for c in r.choices:
            want(c.message.content is not None and c.finish_reason in ("stop", "length"),
                 f"choice {c.index}: {c}")
        return " / ".join(repr(c.message.content[:20]) for c in r.choices)

    @check("logprobs=True, top_logprobs=2: token, logprob <= 0, two alternatives")
    def _():
        r = chat("Say hello.", max_tokens=6, temperature=0, logprobs=True, top_logprobs=2)
        c = r.choices[0]
        want(c.logprobs is not None and c.logprobs.content, f"logprobs {c.logprobs}")
        lp = c.logprobs.content
        want(len(lp) == r.usage.completion_tokens,
             f"{len(lp)} logprob entries, {r.usage.completion_tokens} completion tokens")
        for i, t in enumerate(lp):
            want(isinstance(t.token, str), f"entry {i}: token {t.token!r}")
            want(t.logprob <= 0, f"entry {i}: logprob {t.logprob}")
            want(len(t.top_logprobs) == 2, f"entry {i}: {len(t.top_logprobs)} top_logprobs")
            want(all(a.logprob <= 0 and isinstance(a.token, str) for a in t.top_logprobs),
                 f"entry {i}: top_logprobs {t.top_logprobs}")
            want(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob,
                 f"entry {i}: top_logprobs not in descending order")
            # greedy: the chosen token is the most likely one
            want(abs(t.logprob - t.top_logprobs[0].logprob) < 1e-3,
                 f"entry {i}: greedy token logprob {t.logprob}, best {t.top_logprobs[0].logprob}")
        want("".join(t.token for t in lp) == c.message.content,
             f"tokens {[t.token for t in lp]} do not spell {c.message.content!r}")
        return f"{len(lp)} tokens"

    @check("stop: output ends before the stop string, finish_reason stop")
    def _():
        full = chat(COUNT, max_tokens=48, temperature=0).choices[0].message.content
        words = full.split()
        want(len(words) >= 4, f"unstopped answer too short to pick a stop string: {full!r}")
        stop = words[len(words) // 2]
        cut = full[:full.index(stop)]
        for stream in (False, True):
            if stream:
                text, finish = "", None
                for ch in chat(COUNT, max_tokens=48, temperature=0, stop=[stop], stream=True):
                    if ch.choices:
                        text += ch.choices[0].delta.content or ""
                        finish = ch.choices[0].finish_reason or finish
            else:
                c = chat(COUNT, max_tokens=48, temperature=0, stop=[stop]).choices[0]
                text, finish = c.message.content, c.finish_reason
            how = "stream" if stream else "non-stream"
            want(stop not in text, f"{how}: {text!r} contains the stop string {stop!r}")
            want(finish == "stop", f"{how}: finish_reason {finish!r}")
            want(text == cut, f"{how}: {text!r}, want the unstopped text cut at {stop!r}: {cut!r}")
        return f"stop {stop!r} after {len(cut)} chars"

    @check("stream_options include_usage: usage only in a final chunk with no choices")
    def _():
        chunks = list(chat(LONG, max_tokens=16, temperature=0, stream=True,
                           stream_options={"include_usage": True}))
        want(chunks, "no chunks")
        last = chunks[-1]
        want(last.choices == [], f"final chunk has choices {last.choices}")
        want(last.usage is not None, "final chunk has no usage")
        for i, ch in enumerate(chunks[:-1]):
            want(ch.usage is None, f"chunk {i + 1} of {len(chunks)} has usage {ch.usage}")
            want(len(ch.choices) == 1, f"chunk {i + 1}: {len(ch.choices)} choices")
        u = last.usage
        pieces = sum(1 for ch in chunks[:-1] if ch.choices[0].delta.content)
        want(u.completion_tokens == 16, f"completion_tokens {u.completion_tokens}, want 16 (max_tokens)")
        want(0 < pieces <= u.completion_tokens,
             f"{pieces} content chunks for {u.completion_tokens} completion tokens")
        want(u.prompt_tokens > 0 and u.total_tokens == u.prompt_tokens + u.completion_tokens,
             f"usage {u}")
        return f"{len(chunks)} chunks, {pieces} with content, usage {u.prompt_tokens}+{u.completion_tokens}"

    @check("max_tokens=8: finish_reason length, completion_tokens 8")
    def _():
        r = chat(LONG, max_tokens=8, temperature=0)
        c = r.choices[0]
        want(c.finish_reason == "length", f"finish_reason {c.finish_reason!r}")
        want(r.usage.completion_tokens == 8, f"completion_tokens {r.usage.completion_tokens}")
        return repr(c.message.content)

    @check("greedy (temperature 0) twice: identical text")
    def _():
        a = chat(LONG, max_tokens=24, temperature=0).choices[0].message.content
        b = chat(LONG, max_tokens=24, temperature=0).choices[0].message.content
        want(a == b, f"first {a!r}\nsecond {b!r}")
        return f"{len(a)} chars"

    @check("bad request (temperature 'hot'): openai.BadRequestError, status 400")
    def _():
        try:
            chat("Hi", max_tokens=4, temperature="hot")
        except openai.BadRequestError as e:
            want(e.status_code == 400, f"status {e.status_code}")
            return str(e.message)[:60]
        except openai.APIStatusError as e:
            raise AssertionError(f"{type(e).__name__}, status {e.status_code}: {e.message}")
        raise AssertionError("the request succeeded")

    @check("AsyncOpenAI: chat, chat stream and 4 concurrent chats")
    async def _():
        ac = openai.AsyncOpenAI(base_url=base, api_key=key, timeout=TIMEOUT, max_retries=0)
        async with ac:
            msgs = [{"role": "user", "content": LONG}]
            r = await ac.chat.completions.create(model=model, messages=msgs,
                                                 max_tokens=12, temperature=0)
            one = r.choices[0].message.content
            want(one and r.choices[0].finish_reason == "length", f"chat: {r.choices[0]}")
            text, n = "", 0
            async for ch in await ac.chat.completions.create(
                    model=model, messages=msgs, max_tokens=12, temperature=0, stream=True):
                n += 1
                if ch.choices:
                    text += ch.choices[0].delta.content or ""
            want(text == one, f"stream {text!r}, non-stream {one!r}")
            many = await asyncio.gather(*(ac.chat.completions.create(
                model=model, messages=msgs, max_tokens=12, temperature=0) for _ in range(4)))
            got = [m.choices[0].message.content for m in many]
            want(all(g == one for g in got), f"concurrent greedy answers differ: {got} vs {one!r}")
        return f"{n} chunks; 4 concurrent answers identical"

    finish()


if __name__ == "__main__":
    main()
