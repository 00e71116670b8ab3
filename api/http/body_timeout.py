"""A deadline on reading the request body (RAREGRAPH_API_BODY_TIMEOUT_S), as ASGI middleware.

uvicorn has no such timeout: a client that declares `Content-Length: 1000` and sends 6 bytes would
hold its connection, and the request's task, for as long as it keeps the socket open. Here every
`receive()` of the body waits at most until the deadline, counted from when the headers were in;
past it the request is answered `408 request-timeout` and the connection closed. (The headers
have their own deadline in the HTTP protocol: `protocol.py`.) A response that starts before the
body was read (401, 413, 429, ...) closes the connection too, so the rest is never waited for.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from raregraph.api.http.problems import BodyTimeout, body_timeout_response

__all__ = ["BodyTimeoutMiddleware"]


def _declares_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers", ()))
    length = headers.get(b"content-length", b"").strip()
    if length:
        return length != b"0"
    return b"chunked" in headers.get(b"transfer-encoding", b"").lower()


class BodyTimeoutMiddleware:
    """408 for a body not received within `timeout_s` of the headers; `Connection: close` for one left unread."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.timeout_s
        body_read = not _declares_body(scope)
        response_started = False

        async def receive_by_deadline() -> Message:
            nonlocal body_read
            if body_read:  # after the body only http.disconnect comes, awaited by streaming responses: no deadline
                return await receive()
            with anyio.move_on_after(max(deadline - anyio.current_time(), 0)):
                message = await receive()
                body_read = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            raise BodyTimeout(self.timeout_s)

        async def send_closing_early(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = list(message.get("headers", []))
                if not body_read and not any(k.lower() == b"connection" for k, _ in headers):
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, receive_by_deadline, send_closing_early)
        except BodyTimeout:  # read by a middleware below (a chunked body's size check), not by a route
            if response_started:
                raise
            state = scope.setdefault("state", {})
            state["problem"] = "request-timeout"
            await body_timeout_response(self.timeout_s, state.get("request_id"))(scope, receive, send)
