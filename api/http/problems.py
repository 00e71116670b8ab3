"""Errors over HTTP: one handler set turning every failure into an RFC 9457 `application/problem+json`.

Our own errors go through `api.errors.describe_error` (the one map of status, kind and message);
request validation errors become `invalid-input` with the offending field; conditions that only
exist over HTTP (no route, body too large or too slow, JSON too deep to parse, missing key, rate
limit, not ready, timeout, a request that is not HTTP) have their kinds here. A client never sees
a stack trace, and bad input never gives a 500.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from raregraph.api.errors import ErrorInfo, describe_error
from raregraph.errors import ObsoleteTermError, UnknownEntityError, UnknownTermError

__all__ = [
    "PROBLEM_MEDIA_TYPE", "Problem", "ProblemResponse", "FieldError", "Suggestion", "UnknownIdError", "problem_type", "problem_response",
    "install_error_handlers", "validation_problem", "problem_for_error", "RateLimitExceeded", "BodyTimeout",
    "body_timeout_response", "unreadable_body_problem",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:raregraph:problem:"
_RETRY_AFTER_UNAVAILABLE_S = 5
_MAX_INPUT_ECHO = 80  # characters of an offending value quoted back in `detail`


# Titles of the kinds (ErrorInfo.kind and the HTTP-only kinds below); others get the status phrase.
_TITLES: dict[str, str] = {
    "invalid-input": "Invalid input",
    "unknown-term": "Unknown HPO term",
    "obsolete-term": "Obsolete HPO term",
    "unknown-entity": "Not found",
    "invalid-case": "Case cannot be ranked",
    "snapshot-not-found": "Snapshot not found",
    "graph-unavailable": "Graph not available",
    "llm-output": "LLM answer unusable",
    "not-found": "No such resource",
    "method-not-allowed": "Method not allowed",
    "body-too-large": "Request body too large",
    "unauthorized": "API key missing or invalid",
    "rate-limited": "Too many requests",
    "timeout": "Request took too long",
    "request-timeout": "Request not received in time",
    "bad-request": "Not a valid HTTP request",
    "json-too-deep": "JSON nested too deeply",
    "number-too-long": "Number too long",
    "internal-error": "Internal error",
    "feedback-disabled": "Feedback disabled on this server",
}


class FieldError(BaseModel):
    field: str = Field(description="Where in the request: body.hpo_present.3, query.top, path.curie")
    message: str


class Suggestion(BaseModel):
    id: str
    label: str | None = None
    reason: str = Field(description="replaced_by | consider | normalised | similar")


class Problem(BaseModel):
    """RFC 9457 problem details, with raregraph's extension members."""

    type: str = Field(description="Stable identifier of the kind of problem, e.g. urn:raregraph:problem:unknown-term")
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="This occurrence: urn:request:<request id>")
    field: str | None = Field(None, description="The offending field, when one is to blame")
    errors: list[FieldError] = Field(default_factory=list, description="Every field problem, for invalid input")
    suggestions: list[Suggestion] = Field(default_factory=list, description="Ids the client may have meant")


class UnknownIdError(UnknownEntityError):
    """A disease, gene or term id asked for over HTTP is not in the snapshot; carries suggestions."""

    def __init__(self, message: str, *, field: str | None = None, suggestions: Sequence[Suggestion] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.suggestions = list(suggestions)


def problem_type(kind: str) -> str:
    """The problem `type` of a kind.

    >>> problem_type("unknown-term")
    'urn:raregraph:problem:unknown-term'
    """
    return _TYPE_PREFIX + kind


def problem_response(
    status: int, kind: str, detail: str, *, request_id: str | None = None, field: str | None = None,
    errors: Sequence[FieldError] = (), suggestions: Sequence[Suggestion] = (), headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    """A problem+json response (serialised here; no framework machinery needed, so middleware can use it)."""
    title = _TITLES.get(kind) or HTTPStatus(status).phrase
    body = Problem(
        type=problem_type(kind), title=title, status=status, detail=detail,
        instance=f"urn:request:{request_id}" if request_id else None, field=field, errors=list(errors),
        suggestions=list(suggestions),
    )
    return _send(body, headers)


class ProblemResponse(Response):
    """An application/problem+json response that remembers its kind (for the access log)."""

    media_type = PROBLEM_MEDIA_TYPE

    def __init__(self, problem: Problem, headers: Mapping[str, str] | None = None) -> None:
        out_headers = dict(headers or {})
        if problem.status == 503 and "Retry-After" not in out_headers:
            out_headers["Retry-After"] = str(_RETRY_AFTER_UNAVAILABLE_S)
        super().__init__(problem.model_dump_json(exclude_none=True), status_code=problem.status, headers=out_headers)
        self.kind = problem.type.removeprefix(_TYPE_PREFIX)


def _send(problem: Problem, headers: Mapping[str, str] | None = None) -> ProblemResponse:
    return ProblemResponse(problem, headers)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _noted(request: Request, response: ProblemResponse) -> ProblemResponse:
    """Keep the problem's kind for the access log line."""
    request.state.problem = response.kind
    return response


# --- request validation -------------------------------------------------------------------------


def _validation_info() -> ErrorInfo:
    """Status and kind that the one error map gives a pydantic validation error."""
    try:
        TypeAdapter(int).validate_python("not a number")
    except ValidationError as err:
        info = describe_error(err)
        assert info is not None
        return info
    raise AssertionError("unreachable")


_INVALID = _validation_info()


def _field_name(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _echo(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_INPUT_ECHO else text[: _MAX_INPUT_ECHO - 1] + "…"


def validation_problem(errors: Sequence[Mapping[str, Any]], request_id: str | None) -> ProblemResponse:
    """422 `invalid-input` naming each offending field (JSON syntax errors included)."""
    fields: list[FieldError] = []
    for e in errors:
        message, loc = str(e.get("msg", "invalid")), tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid":
            where = f" at character {loc[1]}" if len(loc) > 1 else ""
            message = f"the body is not valid JSON: {(e.get('ctx') or {}).get('error', 'syntax error')}{where}"
            loc = loc[:1]
        elif "input" in e and e.get("type") != "missing" and not isinstance(e.get("input"), (dict, list)):
            message = f"{message} (got {_echo(e['input'])})"
        fields.append(FieldError(field=_field_name(loc), message=message))
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields) or "invalid request"
    return problem_response(_INVALID.status, _INVALID.kind, detail, request_id=request_id,
                            field=fields[0].field if fields else None, errors=fields)


# --- our errors ---------------------------------------------------------------------------------


class RateLimitExceeded(Exception):
    """A client spent its request budget (raised by routes that charge more than one request, e.g. a batch)."""

    def __init__(self, retry_after_s: int, detail: str) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class BodyTimeout(Exception):
    """The client did not send the request body within RAREGRAPH_API_BODY_TIMEOUT_S (raised by `receive`)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"request body not received within {timeout_s:g} s")
        self.timeout_s = timeout_s


def body_timeout_response(timeout_s: float, request_id: str | None) -> ProblemResponse:
    """408 for a body that did not arrive in time; the connection is closed after it."""
    return problem_response(
        408, "request-timeout", f"the request body did not arrive within {timeout_s:g} s of its headers "
        "(RAREGRAPH_API_BODY_TIMEOUT_S)", request_id=request_id, headers={"Connection": "close"},
    )


def unreadable_body_problem(cause: BaseException | None, request_id: str | None) -> ProblemResponse:
    """The problem for a body FastAPI could not parse (its 400 "error parsing the body"), by the true cause."""
    if isinstance(cause, BodyTimeout):
        return body_timeout_response(cause.timeout_s, request_id)
    if isinstance(cause, RecursionError):  # json's decoder recurses once per nested array or object
        return problem_response(
            422, "json-too-deep", "the JSON body nests arrays or objects too deeply to be parsed (a request needs "
            "at most a few levels)", request_id=request_id, field="body")
    if isinstance(cause, ValueError) and not isinstance(cause, UnicodeError) and "digits" in str(cause):
        return problem_response(
            422, "number-too-long", f"a number in the JSON body has more than {sys.get_int_max_str_digits()} digits, "
            "more than Python reads as an integer", request_id=request_id, field="body")
    error = "the bytes are not UTF-8 JSON" if isinstance(cause, UnicodeError) else "the body could not be parsed"
    return validation_problem([{"type": "json_invalid", "loc": ("body",), "msg": "", "ctx": {"error": error}}], request_id)


def _graph_of(request: Request) -> Any:
    runtime = getattr(request.app.state, "runtime", None)
    return runtime.service.graph if runtime is not None and runtime.service is not None else None


def _term_suggestions(graph: Any, err: BaseException) -> list[Suggestion]:
    """An obsolete id's replacement (or the terms HPO says to consider), with labels."""
    if not isinstance(err, ObsoleteTermError):
        return []
    ids = [err.replaced_by] if err.replaced_by else list(err.consider)
    reason = "replaced_by" if err.replaced_by else "consider"
    labels = {k: t.label for k, t in graph.terms(ids).items()} if graph is not None and ids else {}
    return [Suggestion(id=i, label=labels.get(i), reason=reason) for i in ids]


def _term_field(case: Any, case_field: str, err: BaseException) -> str | None:
    """Where an unknown/obsolete id sits in the case (`case` is the parsed request, never logged)."""
    given = err.ids[0] if isinstance(err, UnknownTermError) else getattr(err, "term_id", None)
    if case is None or given is None:
        return None
    for name in ("hpo_present", "hpo_excluded"):
        values = getattr(case, name, None) or []
        if given in values:
            return f"{case_field}.{name}.{values.index(given)}"
    return None


def problem_for_error(
    err: BaseException, info: ErrorInfo, *, graph: Any = None, case: Any = None, case_field: str = "body",
    request_id: str | None = None,
) -> Problem:
    """The problem for one of our errors, with the offending field and suggestions where they can be told."""
    field = getattr(err, "field", None)
    field = field if isinstance(field, str) else None
    suggestions: list[Suggestion] = list(getattr(err, "suggestions", None) or [])
    if isinstance(err, (UnknownTermError, ObsoleteTermError)):
        field = _term_field(case, case_field, err) or field
        suggestions = suggestions or _term_suggestions(graph, err)
    return Problem(
        type=problem_type(info.kind), title=_TITLES.get(info.kind) or HTTPStatus(info.status).phrase,
        status=info.status, detail=info.message, instance=f"urn:request:{request_id}" if request_id else None,
        field=field, suggestions=suggestions,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the one handler set on `app` (unexpected exceptions are caught by the request middleware)."""

    async def on_validation(request: Request, err: Exception) -> Response:
        assert isinstance(err, RequestValidationError)
        return _noted(request, validation_problem(err.errors(), _request_id(request)))

    async def on_http(request: Request, err: Exception) -> Response:
        assert isinstance(err, StarletteHTTPException)
        status = err.status_code
        if status == 400:  # FastAPI's "error parsing the body", raised from the true cause
            return _noted(request, unreadable_body_problem(err.__cause__, _request_id(request)))
        kind = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}.get(status, "http-error")
        detail = err.detail if isinstance(err.detail, str) else HTTPStatus(status).phrase
        if status == 404:
            detail = f"no resource at {request.url.path}"
        return _noted(request, problem_response(status, kind, detail, request_id=_request_id(request), headers=err.headers))

    async def on_ours(request: Request, err: Exception) -> Response:
        info = describe_error(err)
        if info is None:  # not ours after all: let the request middleware answer 500
            raise err
        problem = problem_for_error(
            err, info, graph=_graph_of(request), case=getattr(request.state, "case", None),
            case_field=getattr(request.state, "case_field", "body"), request_id=_request_id(request),
        )
        return _noted(request, _send(problem))

    async def on_rate_limit(request: Request, err: Exception) -> Response:
        assert isinstance(err, RateLimitExceeded)
        return _noted(request, problem_response(429, "rate-limited", str(err), request_id=_request_id(request),
                                                headers={"Retry-After": str(err.retry_after_s)}))

    async def on_timeout(request: Request, err: Exception) -> Response:
        limit = getattr(request.app.state, "settings", None)
        seconds = getattr(limit, "api_request_timeout_s", None)
        return _noted(request, problem_response(
            503, "timeout", f"the request took longer than the per-request limit ({seconds} s, "
            "RAREGRAPH_API_REQUEST_TIMEOUT_S)", request_id=_request_id(request),
        ))

    from raregraph.errors import RaregraphError

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RaregraphError, on_ours)
    app.add_exception_handler(ValidationError, on_ours)  # a model built inside a route (e.g. a phenopacket)
    app.add_exception_handler(TimeoutError, on_timeout)
    app.add_exception_handler(RateLimitExceeded, on_rate_limit)
