"""Structured JSON logs for the HTTP API, and the request middleware: request id, access line, last-resort 500.

Every record is one JSON object per line (`ts`, `level`, `logger`, `message`, `request_id` and the
record's extra fields). The access line holds method, path (never the query string), status,
duration, the API key's *name* and the client address: never a request body, so no patient text
reaches the logs unless `RAREGRAPH_API_LOG_PATIENT_TEXT` is on (then routes log case bodies at DEBUG).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["JsonFormatter", "configure_logging", "RequestContextMiddleware", "request_id_var", "REQUEST_ID_HEADER"]

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("raregraph_request_id", default=None)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message",  # uvicorn's ANSI-coloured copy of the message
}
access_log = logging.getLogger("raregraph.api.access")
log = logging.getLogger("raregraph.api")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; extra fields are kept, exceptions are formatted into `exc`."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in out and not key.startswith("_") and value is not None:
                out[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
            out["exc"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: int | str = logging.INFO) -> None:
    """Route the root logger (uvicorn's included) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access line replaces it (with the request id)


class RequestContextMiddleware:
    """Outermost middleware: request id (echoed or generated), one access log line, 500 problem for bugs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 - the last resort: log the bug, answer a bare 500
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if response_started:
                raise
            from raregraph.api.http.problems import problem_response

            status = 500
            scope.setdefault("state", {})["problem"] = "internal-error"
            response = problem_response(
                500, "internal-error", f"internal error; quote request id {request_id} when reporting it",
                request_id=request_id,
            )
            await response(scope, receive, send_with_id)
        finally:
            state = scope.get("state") or {}
            access_log.info("request", extra={
                "request_id": request_id, "method": scope.get("method"), "path": scope.get("path"), "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "client": (scope.get("client") or ("-",))[0], "key": state.get("client_name"), "problem": state.get("problem"),
            })
            request_id_var.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None
