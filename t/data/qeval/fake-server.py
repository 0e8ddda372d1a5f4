#!/usr/bin/env python3
"""fake-server.py - a scripted OpenAI/Ollama streaming server with known
delays, for checking `qeval bench`'s measurements (t/t6020-qeval-bench.t).

    python3 t/data/qeval/fake-server.py PORT [--ttft-ms T] [--itl-ms I]
        [--tokens N] [--fail-every K] [--malformed-every K] [--model NAME]

Every streamed completion (POST /v1/chat/completions, /v1/completions,
/api/generate) waits T ms, sends its first token, then N - 1 more tokens
I ms apart, then (OpenAI) a usage chunk and "data: [DONE]" or (Ollama) the
done object with eval_count N.  So TTFT = T, ITL = I, TPOT = I and
E2EL = T + (N - 1) I, plus the machine's overheads.  Every K-th request
gets a 500 (--fail-every) or a stream with a line that is not JSON
(--malformed-every).  GET /v1/models and /api/tags list one model.
A chat request without "stream": true is a judge's question (qeval
compare --judge): the reply is "1" when only "Answer 1" holds the word
GOOD, "2" when only "Answer 2" does, else "tie"; with --judge-first it
always says "1" (a judge with a position bias).
Python's standard library only; a thread per connection.  Prints
"listening PORT" on stdout once it accepts connections.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--ttft-ms", type=float, default=50)
ap.add_argument("--itl-ms", type=float, default=10)
ap.add_argument("--tokens", type=int, default=8)
ap.add_argument("--fail-every", type=int, default=0)
ap.add_argument("--malformed-every", type=int, default=0)
ap.add_argument("--model", default="fake-model")
ap.add_argument("--judge-first", action="store_true")
args = ap.parse_args()

count = 0
lock = threading.Lock()


def sleep_until(t):
    while True:
        d = t - time.monotonic()
        if d <= 0:
            return
        time.sleep(d)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": args.model, "object": "model"}]})
        elif self.path == "/api/tags":
            self.send_json(200, {"models": [{"name": args.model}]})
        else:
            self.send_json(404, {"error": {"message": "no such path"}})

    def do_POST(self):
        global count
        t0 = time.monotonic()
        n = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(n) or b"{}")
        with lock:
            count += 1
            k = count
        if args.fail_every and k % args.fail_every == 0:
            self.send_json(500, {"error": {"message": "scripted failure"}})
            return
        ollama = self.path.startswith("/api/")
        chat = self.path == "/v1/chat/completions"
        if chat and not req.get("stream"):
            text = req["messages"][-1]["content"]
            a1 = text.split("Answer 1:", 1)[-1].split("Answer 2:", 1)[0]
            a2 = text.split("Answer 2:", 1)[-1]
            v = "1" if args.judge_first else \
                "1" if "GOOD" in a1 and "GOOD" not in a2 else "2" if "GOOD" in a2 and "GOOD" not in a1 else "tie"
            self.send_json(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": v},
                                              "finish_reason": "stop"}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson" if ollama else "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        bad = args.malformed_every and k % args.malformed_every == 0

        def send(obj):
            line = json.dumps(obj) + "\n" if ollama else "data: " + json.dumps(obj) + "\n\n"
            self.wfile.write(line.encode())
            self.wfile.flush()

        for i in range(args.tokens):
            sleep_until(t0 + (args.ttft_ms + i * args.itl_ms) / 1000)
            if ollama:
                send({"model": args.model, "response": "tok%d " % i, "done": False})
            elif chat:
                send({"choices": [{"index": 0, "delta": {"content": "tok%d " % i}, "finish_reason": None}]})
            else:
                send({"choices": [{"index": 0, "text": "tok%d " % i, "finish_reason": None}]})
            if bad and i == 0:
                self.wfile.write(b"data: {not json\n\n" if not ollama else b"{not json\n")
        if ollama:
            send({"model": args.model, "response": "", "done": True, "done_reason": "length",
                  "eval_count": args.tokens, "prompt_eval_count": 5})
        else:
            send({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": args.tokens,
                                           "total_tokens": 5 + args.tokens}})
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: many clients connect at once


srv = Server(("127.0.0.1", args.port), H)
print("listening", args.port, flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass
