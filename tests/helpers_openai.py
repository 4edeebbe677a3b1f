"""A stub OpenAI-compatible server (stdlib http.server) on 127.0.0.1 for tests and benchmarks.

It lists the model names it was given and answers `/v1/chat/completions` for them: a greedy
request (temperature 0) with a name in `greedy` gets that fixed answer (what a server holding that
adapter, another adapter or the base model would say to the probe); any other request gets an
email addressed to the first name the brief names, after `latency` seconds (a GPU server's time per
request, so that a benchmark measures the workers and the queue, not a model). An unknown name is
answered as llama.cpp's server does: with its first model, silently (`strict=False`), or refused
with 404 (`strict=True`, as vLLM does).

    server = StubOpenAI(["acme-v1"], greedy={"acme-v1": "Subject: Hello"})   # in a thread
    python tests/helpers_openai.py --port 0 --latency 0.5 --model base        # a process
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = ("thanks for the time you gave us last quarter. We have one short guide on closing the "
        "books in three days instead of ten; would it help your team this month?\n\n"
        "Would a yes or no by reply work?")
_NAME = re.compile(r"email to ([A-Z][\w'-]+)")


def email_for(brief: str, seed: int | None) -> str:
    """A plausible short email for a brief: addressed to the first name it names."""
    found = _NAME.search(brief or "")
    name = found.group(1) if found and found.group(1) != "there" else "there"
    return f"Subject: Three days to close, not ten ({seed})\n\nHi {name},\n\n{BODY}"


class StubOpenAI:
    """The server, running in a daemon thread until `close()`."""

    def __init__(self, models, *, greedy: dict[str, str] | None = None, latency: float = 0.0,
                 strict: bool = False, port: int = 0, record: bool = True):
        self.models, self.greedy = list(models), dict(greedy or {})
        self.record, self.count = record, 0
        self.latency, self.strict = latency, strict
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.server.request_queue_size = 1024
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, payload: dict) -> tuple[int, dict]:
        model = payload.get("model")
        if model not in self.models:
            if self.strict or not self.models:
                return 404, {"error": {"message": f"The model `{model}` does not exist."}}
            model = self.models[0]  # llama.cpp's server: the first model, whatever was asked
        messages = payload.get("messages") or []
        if not payload.get("temperature") and model in self.greedy:
            text = self.greedy[model]
        else:
            brief = messages[-1]["content"] if messages else payload.get("prompt", "")
            text = email_for(brief, payload.get("seed"))
        return 200, {"object": "chat.completion", "model": model,
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": text}}],
                     "usage": {"prompt_tokens": 120, "completion_tokens": len(text.split())}}

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many requests

            def log_message(self, *args):
                pass

            def reply(self, status: int, data: dict) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.rstrip("/") != "/v1/models":
                    return self.reply(404, {"error": "not found"})
                self.reply(200, {"object": "list",
                                 "data": [{"id": m, "object": "model"} for m in outer.models]})

            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.count += 1
                    if outer.record:
                        outer.requests.append(payload)
                if outer.latency and payload.get("temperature"):
                    time.sleep(outer.latency)
                self.reply(*outer.answer(payload))

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="A stub OpenAI-compatible server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="Seconds per sampled answer.")
    parser.add_argument("--model", action="append", required=True, help="A served model name.")
    args = parser.parse_args()
    server = StubOpenAI(args.model, latency=args.latency, port=args.port, record=False)
    print(server.url, flush=True)
    try:
        server.thread.join()
    except KeyboardInterrupt:
        server.close()


if __name__ == "__main__":
    main()
