"""uvicorn's HTTP/1.1 protocol (httptools) with the two things it leaves to the socket: a header deadline
and a problem+json answer to a request that is not HTTP.

`raregraph serve` passes this class as uvicorn's `http=`. uvicorn times out only idle kept-alive
connections: a client that opens a connection and sends nothing, or sends its headers a byte at a
time, holds it for ever. Here a request's headers must be in within RAREGRAPH_API_HEADER_TIMEOUT_S
of the connection's opening (on a kept-alive connection, of the request's first byte): past it a
started request is answered `408 request-timeout`, a silent connection just closed. Broken framing
(a bad request line, header or length) gets `400 bad-request` as `application/problem+json` naming
the parser's reason, where uvicorn writes a `text/plain` "Invalid HTTP request received.".
Both answers carry an `X-Request-ID` and are logged as access lines, as the app's own are.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from raregraph.api.http.logging_setup import REQUEST_ID_HEADER
from raregraph.api.http.problems import problem_response

__all__ = ["ProblemHttpToolsProtocol", "HEADER_TIMEOUT_STATE", "DEFAULT_HEADER_TIMEOUT_S"]

# The app's lifespan publishes its RAREGRAPH_API_HEADER_TIMEOUT_S under this key of the lifespan state,
# which uvicorn hands to each connection's protocol (`app_state`): one setting, read where it is used.
HEADER_TIMEOUT_STATE = "raregraph_header_timeout_s"
DEFAULT_HEADER_TIMEOUT_S = 10.0
access_log = logging.getLogger("raregraph.api.access")


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus a header deadline (408) and problem+json for unparseable requests (400)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._request_begun = False

    @property
    def header_timeout_s(self) -> float:
        return float(self.app_state.get(HEADER_TIMEOUT_STATE, DEFAULT_HEADER_TIMEOUT_S))

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        if self._header_deadline is None:  # a kept-alive connection's next request: counted from its first byte
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        self._request_begun = False
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this inside its `except httptools.HttpParserError`: the error says what is wrong.
        error = sys.exc_info()[1]
        reason = str(error) if error is not None and str(error) else msg
        self._answer_and_close(400, "bad-request", f"the request is not valid HTTP/1.1: {reason}")

    def _arm_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._on_header_timeout)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _on_header_timeout(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if not self._request_begun:  # nothing sent: nobody to answer
            self.transport.close()
            return
        self._answer_and_close(408, "request-timeout", f"the request headers did not arrive within "
                                                       f"{self.header_timeout_s:g} s (RAREGRAPH_API_HEADER_TIMEOUT_S)")

    def _answer_and_close(self, status: int, kind: str, detail: str) -> None:
        """Write a problem+json response straight to the socket (no app is running) and close the connection."""
        request_id = uuid.uuid4().hex
        response = problem_response(status, kind, detail, request_id=request_id,
                                    headers={"Connection": "close", REQUEST_ID_HEADER: request_id})
        head = [STATUS_LINE[status]]
        for name, value in [*self.server_state.default_headers, *response.raw_headers]:
            head += [name, b": ", value, b"\r\n"]
        self.transport.write(b"".join([*head, b"\r\n", bytes(response.body)]))
        self.transport.close()
        access_log.info("request", extra={
            "request_id": request_id, "status": status, "client": self.client[0] if self.client else "-",
            "problem": kind,
        })
