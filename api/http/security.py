"""API keys, per-key rate limits and the request-body limit, as ASGI middleware ahead of routing.

Keys and their client names come from `RAREGRAPH_API_KEYS` (JSON `{"name": "key"}`). With none
configured the API is open; otherwise every path but `/` and `/healthz` needs a known `X-API-Key`.
The rate limit is a token bucket per key name, and per client address without keys and for requests
whose key is missing or wrong (the connecting address, or the one a proxy listed in
`RAREGRAPH_API_TRUSTED_PROXIES` forwards; see `app.py`):
`api_rate_limit_burst` requests at once, refilled at `api_rate_limit_per_minute`; a request
over it gets `429` with `Retry-After` (whole seconds). Buckets live in this process: with N
workers or N replicas each holds its own, so the effective limit is N times higher.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from raregraph.api.http.problems import problem_response

__all__ = ["API_KEY_HEADER", "OPEN_PATHS", "RateLimiter", "KeyAndRateMiddleware", "BodyLimitMiddleware"]

API_KEY_HEADER = "X-API-Key"
OPEN_PATHS = frozenset({"/", "/healthz"})  # the landing document and liveness: no key, no rate limit
_MAX_ANONYMOUS_BUCKETS = 10_000


class RateLimiter:
    """Token buckets by client: `burst` tokens, refilled at `per_minute / 60` per second. Thread-safe."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, last time)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, client: str, cost: int = 1, *, spent: int = 0) -> int | None:
        """Spend `cost` tokens of `client`; None if it may go ahead, else whole seconds to wait (nothing spent).

        A cost over what a full bucket holds (a large batch; `spent` tokens of the same request already
        taken) goes ahead on a full bucket and leaves it in debt: the client then waits off the difference,
        so the rate holds over time and no request is refused for ever.
        """
        if not self.enabled or cost <= 0:
            return None
        needed = min(cost, self.capacity - spent)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= needed:
                self._buckets[client] = (tokens - cost, now)
                wait = None
            else:
                self._buckets[client] = (tokens, now)
                # a retry pays the `spent` tokens again before this cost
                wait = max(1, math.ceil((needed + spent - tokens) / self.rate))
            while len(self._buckets) > _MAX_ANONYMOUS_BUCKETS:
                self._buckets.popitem(last=False)  # least recently seen client
            return wait


class KeyAndRateMiddleware:
    """Checks `X-API-Key` (when keys are configured) and spends one token of the client's bucket."""

    def __init__(self, app: ASGIApp, keys: Mapping[str, SecretStr], limiter: RateLimiter) -> None:
        self.app = app
        self.keys = [(name, secret.get_secret_value().encode()) for name, secret in keys.items()]
        self.limiter = limiter

    def _name_of(self, given: bytes) -> str | None:
        found = None
        for name, key in self.keys:  # every key compared, in constant time each
            if hmac.compare_digest(given, key):
                found = name
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id")
        address = "address:" + str((scope.get("client") or ("-",))[0])
        if self.keys:
            given = next((v for k, v in scope.get("headers", ()) if k == b"x-api-key"), None)
            name = self._name_of(given) if given else None
            if name is None:
                # a refused key costs its address a request: guessing keys is held to the rate limit
                if await self._refused_over_limit(address, scope, receive, send):
                    return
                detail = f"missing {API_KEY_HEADER} header" if given is None else f"invalid {API_KEY_HEADER}"
                state["problem"] = "unauthorized"
                response = problem_response(401, "unauthorized", detail, request_id=request_id,
                                            headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})
                await response(scope, receive, send)
                return
            client = name
        else:
            client = address
        state["client_name"] = client if self.keys else None
        state["rate_client"] = client
        if await self._refused_over_limit(client, scope, receive, send):
            return
        await self.app(scope, receive, send)

    async def _refused_over_limit(self, client: str, scope: Scope, receive: Receive, send: Send) -> bool:
        """Spend one token of `client`; when there is none, answer 429 with Retry-After and say so."""
        wait = self.limiter.take(client)
        if wait is None:
            return False
        state = scope.setdefault("state", {})
        state["problem"] = "rate-limited"
        response = problem_response(
            429, "rate-limited",
            f"rate limit of {round(self.limiter.rate * 60)} requests per minute (burst {int(self.limiter.capacity)}) "
            f"reached (RAREGRAPH_API_RATE_LIMIT_PER_MINUTE); retry in {wait} s",
            request_id=state.get("request_id"), headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)
        return True


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413, by Content-Length or by counting a chunked body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = self.max_bytes + 1
            if declared > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server holds the body to its declared length
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []  # a chunked body: read it here up to the limit, then replay it
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["problem"] = "body-too-large"
        response = problem_response(
            413, "body-too-large",
            f"request body over the limit of {self.max_bytes} bytes (RAREGRAPH_API_MAX_BODY_BYTES)",
            request_id=(scope.get("state") or {}).get("request_id"), headers={"Connection": "close"},
        )
        await response(scope, receive, send)
