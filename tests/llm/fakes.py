"""A scripted OpenAI-compatible server on loopback, for failure modes a real model won't produce on demand.

It speaks the same HTTP as the real server (`/v1/models`, `/v1/chat/completions`, streaming as
server-sent events) and answers with content given by the test: a recorded answer of the real
server, an empty string, a slow answer. Used for timeouts, empty answers and HTTP errors only;
everything else runs against the real llama.cpp server (`test_llm_server.py`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    content: str = ""
    delay_s: float = 0.0  # before answering a chat request
    status: int = 200  # HTTP status of chat answers
    reject_structured: bool = False  # 400 to requests with response_format
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 0  # answer 503 to the first N chat requests
    reasoning_content: str | None = None  # sent as vLLM's reasoning parser does (message / delta field)
    drop_schema: bool = False  # close the connection unanswered when a request carries a JSON schema (a crash)


def _carries_schema(body: dict[str, Any]) -> bool:
    fmt = body.get("response_format") or {}
    return bool(fmt.get("schema") or fmt.get("json_schema") or body.get("guided_json"))


def _completion(content: str, model: str, reasoning: str | None = None) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, **({"reasoning_content": reasoning} if reasoning else {})}
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


class _Handler(BaseHTTPRequestHandler):
    script: Script
    stop: threading.Event

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": "not found"})
            return
        script = self.script
        script.requests.append(body)
        if script.fail_first > 0:
            script.fail_first -= 1
            self._json(503, {"error": "busy"})
            return
        if script.drop_schema and _carries_schema(body):
            self.close_connection = True  # no status line: the client sees the server disconnect
            return
        if script.reject_structured and "response_format" in body:
            self._json(400, {"error": {"message": "response_format not supported"}})
            return
        if script.delay_s:
            self.stop.wait(script.delay_s)
        if script.status != 200:
            self._json(script.status, {"error": {"message": "scripted failure"}})
            return
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            thoughts = script.reasoning_content or ""
            deltas = [{"reasoning_content": thoughts[i:i + 7]} for i in range(0, len(thoughts), 7)]
            pieces = [script.content[i:i + 7] for i in range(0, len(script.content), 7)] or [""]
            for delta in [*deltas, *({"content": p} for p in pieces)]:
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            end = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            return
        self._json(200, _completion(script.content, "fake-model", script.reasoning_content))


@contextmanager
def scripted_server(script: Script) -> Iterator[str]:
    """Serve `script` on a free loopback port; yields the base URL (…/v1)."""
    stop = threading.Event()
    handler = type("Handler", (_Handler,), {"script": script, "stop": stop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port with nothing listening (bound, never listened on, so nothing else takes it)."""
    import socket

    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    try:
        yield int(holder.getsockname()[1])
    finally:
        holder.close()
