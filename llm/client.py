"""An OpenAI-compatible chat-completions client (vLLM first; llama.cpp servers work too).

Built on the `openai` package's async client. What it adds:

- one deadline for the whole call (waiting for a concurrency slot, every retry, the answer),
  so a slow endpoint costs at most `RAREGRAPH_LLM_TIMEOUT_S`;
- retries with exponential backoff and jitter after connection errors, HTTP 429 and 5xx
  (the `openai` client's own retries are off so the deadline holds); never after a timeout;
- a concurrency limit (an `asyncio.Semaphore` per client);
- prompt token counting with the server's own tokenizer: vLLM's and llama.cpp's `POST /tokenize`,
  llama-cpp-python's `POST /extras/tokenize/count` (whichever answers first, remembered).

A LoRA adapter is addressed as vLLM serves it: its `--lora-modules` NAME is the request's `model`.
Create the client inside the event loop that uses it and close it there (`async with`).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from raregraph.errors import RaregraphError

if TYPE_CHECKING:
    import httpx
    import openai

    from raregraph.settings import Settings

__all__ = [
    "LlmClient", "ChatResult", "ChatDelta", "LlmUnavailableError", "LlmTimeoutError", "StructuredOutputRejectedError",
    "ClientOptions",
]

Message = dict[str, str]


class LlmUnavailableError(RaregraphError):
    """The endpoint refused the connection, could not be reached, or answered with an HTTP error."""


class LlmTimeoutError(RaregraphError):
    """No complete answer before the deadline."""


class StructuredOutputRejectedError(LlmUnavailableError):
    """The server refused a request's structured-output options (400/422, or 500 naming response_format),
    or dropped the connection on it without an answer (`dropped`: a llama.cpp server crashes on a grammar it cannot build)."""

    def __init__(self, message: str, *, dropped: bool = False) -> None:
        super().__init__(message)
        self.dropped = dropped


@dataclass(frozen=True)
class ClientOptions:
    """Connection settings, usually from `Settings` (`LlmClient.from_settings`)."""

    base_url: str
    api_key: str = "EMPTY"
    model: str | None = None  # None: the first model the server lists
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    max_retries: int = 2
    retry_backoff_s: float = 0.5
    concurrency: int = 4


@dataclass(frozen=True)
class ChatResult:
    """One completed chat answer; `raw` is the response JSON as received (for recorded fixtures)."""

    content: str | None
    reasoning_content: str | None
    finish_reason: str | None
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatDelta:
    """A streamed piece of the answer: `content` and/or `reasoning_content` (servers with a reasoning parser)."""

    content: str = ""
    reasoning: str = ""


class LlmClient:
    """Chat completions against one OpenAI-compatible endpoint with a deadline, retries and a concurrency cap."""

    def __init__(self, options: ClientOptions) -> None:
        import httpx
        import openai

        self.options = options
        self._openai: openai.AsyncOpenAI = openai.AsyncOpenAI(
            base_url=options.base_url, api_key=options.api_key or "EMPTY",
            timeout=openai.Timeout(options.timeout_s, connect=options.connect_timeout_s), max_retries=0,
        )
        self._http: httpx.AsyncClient = httpx.AsyncClient(
            timeout=httpx.Timeout(options.timeout_s, connect=options.connect_timeout_s))
        self._slots = asyncio.Semaphore(options.concurrency)
        self._model: str | None = options.model
        self._tokenize_route: str | None | bool = None  # None: not probed; False: the server has none
        # The structured-output mode this server accepted after refusing the configured one (see llm/diagnose.py).
        self.accepted_structured_mode: str | None = None

    @classmethod
    def from_settings(cls, settings: "Settings") -> "LlmClient":
        if not settings.llm_base_url:
            raise ValueError("RAREGRAPH_LLM_BASE_URL is not set")
        return cls(ClientOptions(
            base_url=settings.llm_base_url, api_key=settings.llm_api_key.get_secret_value(), model=settings.llm_model,
            timeout_s=settings.llm_timeout_s, connect_timeout_s=settings.llm_connect_timeout_s,
            max_retries=settings.llm_max_retries, retry_backoff_s=settings.llm_retry_backoff_s,
            concurrency=settings.llm_concurrency,
        ))

    async def __aenter__(self) -> "LlmClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._openai.close()
        await self._http.aclose()

    @property
    def root_url(self) -> str:
        """The server root: the base URL without its trailing `/v1`."""
        url = self.options.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url

    # --- models --------------------------------------------------------------------------------

    async def list_models(self) -> list[str]:
        """Ids the server lists at /v1/models (base model and LoRA adapters for vLLM)."""
        page = await self._call(lambda timeout: self._openai.models.list(timeout=timeout), time.monotonic() + self.options.timeout_s)
        return [m.id for m in page.data]

    async def model(self, deadline: float | None = None) -> str:
        """The model name requests use: the configured one, else the first the server lists (asked once)."""
        if self._model is None:
            deadline = deadline or time.monotonic() + self.options.timeout_s
            page = await self._call(lambda timeout: self._openai.models.list(timeout=timeout), deadline)
            if not page.data:
                raise LlmUnavailableError("the server lists no model")
            self._model = page.data[0].id
        return self._model

    # --- tokens --------------------------------------------------------------------------------

    async def count_tokens(self, text: str) -> tuple[int, str] | None:
        """(token count, route) by the server's tokenizer, or None when it exposes no tokenizer route.

        Cost: one HTTP round-trip (plus up to three on the first call, to find the route).
        """
        if self._tokenize_route is False:
            return None
        model = self._model or self.options.model or ""
        routes = [self._tokenize_route] if isinstance(self._tokenize_route, str) else list(_TOKENIZE_ROUTES)
        for route in routes:
            try:
                response = await self._http.post(
                    self.root_url + route, json=_TOKENIZE_ROUTES[route](text, model),
                    headers={"Authorization": f"Bearer {self.options.api_key or 'EMPTY'}"},
                )
            except Exception:  # noqa: BLE001 - any transport problem: fall back to the estimate
                return None
            if response.status_code != 200:
                continue
            try:
                body = response.json()
            except ValueError:
                continue
            count = body.get("count") if isinstance(body, dict) else None
            if count is None and isinstance(body, dict) and isinstance(body.get("tokens"), list):
                count = len(body["tokens"])
            if isinstance(count, int):
                self._tokenize_route = route
                return count, route
        self._tokenize_route = False
        return None

    # --- chat ----------------------------------------------------------------------------------

    async def chat(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0,
        response_format: dict[str, Any] | None = None, extra_body: dict[str, Any] | None = None,
        deadline: float | None = None,
    ) -> ChatResult:
        """One completion. `deadline` is a `time.monotonic()` value (default: now + timeout_s).

        Raises:
            LlmTimeoutError: the deadline passed.
            StructuredOutputRejectedError: HTTP 400 to a request with structured-output options.
            LlmUnavailableError: connection refused/failed after retries, or another HTTP error.
        """
        deadline = deadline or time.monotonic() + self.options.timeout_s
        model = await self.model(deadline)
        kwargs = _request_kwargs(model, messages, max_tokens, temperature, response_format, extra_body)
        structured = response_format is not None or bool(extra_body)
        completion = await self._call(
            lambda timeout: self._openai.chat.completions.create(**kwargs, timeout=timeout), deadline, structured,
        )
        raw = completion.model_dump(mode="json", exclude_unset=False)
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice is not None else None
        usage = completion.usage
        return ChatResult(
            content=message.content if message is not None else None,
            reasoning_content=_reasoning_of(message),
            finish_reason=choice.finish_reason if choice is not None else None,
            model=completion.model or model,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            raw=raw,
        )

    async def stream_chat(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0,
        response_format: dict[str, Any] | None = None, extra_body: dict[str, Any] | None = None,
        deadline: float | None = None,
    ) -> AsyncIterator[ChatDelta | ChatResult]:
        """Stream the answer: `ChatDelta`s as they arrive, then one `ChatResult` with the whole text.

        Retries happen only before the first chunk. Raises as `chat` does; the deadline covers the stream.
        """
        deadline = deadline or time.monotonic() + self.options.timeout_s
        model = await self.model(deadline)
        kwargs = _request_kwargs(model, messages, max_tokens, temperature, response_format, extra_body)
        structured = response_format is not None or bool(extra_body)
        async with self._slot(deadline):
            stream = await self._call(
                lambda timeout: self._openai.chat.completions.create(**kwargs, stream=True, timeout=timeout),
                deadline, structured, take_slot=False,
            )
            content: list[str] = []
            reasoning: list[str] = []
            finish: str | None = None
            served = model
            try:
                iterator = stream.__aiter__()
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise LlmTimeoutError(f"no complete answer within {self.options.timeout_s:g} s")
                    try:
                        chunk = await asyncio.wait_for(iterator.__anext__(), remaining)
                    except StopAsyncIteration:
                        break
                    except (asyncio.TimeoutError, TimeoutError) as e:
                        raise LlmTimeoutError(f"no complete answer within {self.options.timeout_s:g} s") from e
                    served = chunk.model or served
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    finish = choice.finish_reason or finish
                    delta = ChatDelta(choice.delta.content or "", _reasoning_of(choice.delta) or "")
                    if delta.content or delta.reasoning:
                        content.append(delta.content)
                        reasoning.append(delta.reasoning)
                        yield delta
            except _openai_errors() as e:
                raise _translate(e, structured, self.options.timeout_s) from e
            except Exception as e:  # noqa: BLE001 - only a broken connection (the server died) is translated
                if not _named_in_mro(e, "TransportError"):
                    raise
                if structured and _dropped(e):
                    raise StructuredOutputRejectedError(f"the server dropped the connection mid-answer ({e})",
                                                        dropped=True) from e
                raise LlmUnavailableError(f"the connection broke mid-answer: {type(e).__name__}: {e}") from e
            finally:
                await stream.close()
        text = "".join(content)
        thoughts = "".join(reasoning)
        yield ChatResult(
            content=text, reasoning_content=thoughts or None, finish_reason=finish, model=served,
            raw={"streamed": True, "model": served, "finish_reason": finish, "content": text,
                 "reasoning_content": thoughts or None},
        )

    # --- plumbing ------------------------------------------------------------------------------

    def _slot(self, deadline: float) -> "_Slot":
        return _Slot(self._slots, deadline, self.options.timeout_s)

    async def _call(self, make: Any, deadline: float, structured: bool = False, *, take_slot: bool = True) -> Any:
        """Run `make(timeout)` within the deadline, retrying transient failures with backoff."""
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LlmTimeoutError(f"no complete answer within {self.options.timeout_s:g} s")
            try:
                if take_slot:
                    async with self._slot(deadline):
                        return await asyncio.wait_for(make(self._timeout(deadline)), max(deadline - time.monotonic(), 0.001))
                return await asyncio.wait_for(make(self._timeout(deadline)), remaining)
            except (asyncio.TimeoutError, TimeoutError) as e:
                raise LlmTimeoutError(f"no complete answer within {self.options.timeout_s:g} s") from e
            except _openai_errors() as e:
                translated = _translate(e, structured, self.options.timeout_s)
                if not _retryable(e, structured) or attempt >= self.options.max_retries:
                    raise translated from e
            delay = self.options.retry_backoff_s * (2 ** attempt) * (1 + 0.25 * random.random())
            attempt += 1
            if time.monotonic() + delay >= deadline:
                raise LlmTimeoutError(f"no complete answer within {self.options.timeout_s:g} s (retrying)")
            await asyncio.sleep(delay)

    def _timeout(self, deadline: float) -> "openai.Timeout":
        import openai

        remaining = max(deadline - time.monotonic(), 0.001)
        return openai.Timeout(remaining, connect=min(self.options.connect_timeout_s, remaining))


class _Slot:
    """`async with`: one of the client's concurrency slots, waited for until the deadline."""

    def __init__(self, semaphore: asyncio.Semaphore, deadline: float, timeout_s: float) -> None:
        self._semaphore, self._deadline, self._timeout_s = semaphore, deadline, timeout_s

    async def __aenter__(self) -> None:
        remaining = self._deadline - time.monotonic()
        try:
            await asyncio.wait_for(self._semaphore.acquire(), max(remaining, 0.001))
        except (asyncio.TimeoutError, TimeoutError) as e:
            raise LlmTimeoutError(f"no free request slot within {self._timeout_s:g} s") from e

    async def __aexit__(self, *exc: object) -> None:
        self._semaphore.release()


_TOKENIZE_ROUTES: dict[str, Any] = {
    "/tokenize": lambda text, model: {"model": model, "prompt": text, "content": text, "add_special_tokens": False},
    "/extras/tokenize/count": lambda text, model: {"input": text, "model": model},
}


def _request_kwargs(
    model: str, messages: Sequence[Message], max_tokens: int, temperature: float,
    response_format: dict[str, Any] | None, extra_body: dict[str, Any] | None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": model, "messages": list(messages), "max_tokens": max_tokens,
                              "temperature": temperature}
    if response_format is not None:
        kwargs["response_format"] = response_format
    if extra_body:
        kwargs["extra_body"] = extra_body
    return kwargs


def _reasoning_of(message: Any) -> str | None:
    """`reasoning_content` (vLLM/llama.cpp reasoning parsers) or `reasoning`, when the server sends one."""
    if message is None:
        return None
    extra = getattr(message, "model_extra", None) or {}
    for key in ("reasoning_content", "reasoning"):
        value = getattr(message, key, None) if key in type(message).model_fields else extra.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _openai_errors() -> tuple[type[BaseException], ...]:
    import openai

    return (openai.APIError,)


def _named_in_mro(err: BaseException, *names: str) -> bool:
    """By class name: the `openai` package raises the errors of its own vendored httpx (`httpx2`), not httpx's."""
    return any(k.__name__ in names for k in type(err).__mro__)


def _dropped(cause: BaseException) -> bool:
    """The server took the request and closed the connection without an answer (it crashed or was killed)."""
    return _named_in_mro(cause, "RemoteProtocolError", "ReadError")


def _retryable(err: BaseException, structured: bool = False) -> bool:
    import openai

    if isinstance(err, openai.APITimeoutError):
        return False
    if isinstance(err, openai.APIConnectionError):
        # Sending the same grammar to a server it just crashed would crash it again: the caller
        # tries a lighter structured-output mode instead (StructuredOutputRejectedError).
        return not (structured and _dropped(err.__cause__ or err))
    if isinstance(err, openai.APIStatusError):
        return err.status_code == 429 or err.status_code >= 500
    return False


def _translate(err: BaseException, structured: bool, timeout_s: float) -> RaregraphError:
    import openai

    if isinstance(err, openai.APITimeoutError):
        return LlmTimeoutError(f"no complete answer within {timeout_s:g} s")
    if isinstance(err, openai.APIConnectionError):
        cause = err.__cause__ or err
        if structured and _dropped(cause):
            return StructuredOutputRejectedError(
                f"the server dropped the connection on a structured-output request ({type(cause).__name__}: {cause}); "
                "a grammar it cannot build can crash a llama.cpp server", dropped=True)
        return LlmUnavailableError(f"cannot reach the endpoint: {type(cause).__name__}: {cause}")
    if isinstance(err, openai.APIStatusError):
        body = _short(err.response.text if err.response is not None else str(err))
        # llama-cpp-python answers 500 with a validation message naming response_format
        refused = err.status_code in (400, 422) or (err.status_code == 500 and "response_format" in body)
        if structured and refused:
            return StructuredOutputRejectedError(f"HTTP {err.status_code} to a structured-output request: {body}")
        return LlmUnavailableError(f"HTTP {err.status_code}: {body}")
    return LlmUnavailableError(f"{type(err).__name__}: {_short(str(err))}")


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            detail = parsed.get("error") or parsed.get("detail") or parsed.get("message")
            if detail:
                text = json.dumps(detail) if not isinstance(detail, str) else detail
    except ValueError:
        pass
    return text if len(text) <= limit else text[: limit - 1] + "…"
