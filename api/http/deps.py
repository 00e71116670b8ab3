"""What routes depend on: the app's runtime (service built once, off the event loop), settings, offloading.

The service is built in a background thread when the app starts (`Runtime.start`); until it is
ready every route that needs it answers 503 (`/readyz` says so too), and `/healthz` answers at once.
Text linking then loads in the same thread (the embedding model and index when the tier is on);
`/readyz` answers 503 until it has, so "ready" means a first text request costs no load.
CPU-bound work (ranking, evidence, text linking, serialising large answers) runs in worker threads
through `Runtime.run`, under the per-request time limit, so it never blocks the event loop. Work on
clinical text takes a thread of its own lane (RAREGRAPH_API_TEXT_THREADS), so requests with HPO
ids only always find one of the RAREGRAPH_API_THREADS free of text; and when a request times out
or is cancelled its work stops at the next checkpoint (`retrieval/cancel.py`) instead of running on.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request

from raregraph.api.errors import describe_error
from raregraph.api.pipeline import DiagnosisPipeline
from raregraph.api.service import build_service
from raregraph.retrieval.cancel import CancelToken
from raregraph.retrieval.embeddings import limit_threads
from raregraph.retrieval.retriever import Retriever
from raregraph.llm.client import LlmClient
from raregraph.settings import Settings
from raregraph.errors import GraphUnavailableError

__all__ = [
    "Runtime", "load_text_linking", "get_runtime", "get_service", "get_settings", "get_pipeline", "RuntimeDep", "ServiceDep",
    "SettingsDep", "PipelineDep",
]

T = TypeVar("T")
log = logging.getLogger("raregraph.api")
Builder = Callable[[Settings], Retriever]


class Runtime:
    """One app's service and worker-thread limit; the service is built once, in the background."""

    def __init__(self, settings: Settings, service: Retriever | None = None, build: Builder = build_service) -> None:
        self.settings = settings
        self.service = service
        self.failure: str | None = None  # why the build failed (a message fit for clients)
        self.text_linking = "waiting"  # waiting (for the service) | loading | ready | failed: …
        self.load_seconds: float | None = None
        self.text_load_seconds: float | None = None
        self._build = build
        self._thread: threading.Thread | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._text_limiter: anyio.CapacityLimiter | None = None
        self._memo: dict[str, Any] = {}
        self._pipeline: DiagnosisPipeline | None = None
        self._memo_lock = threading.Lock()
        self._after_load: list[Callable[[], None]] = []

    @property
    def ready(self) -> bool:
        return self.service is not None

    @property
    def text_state(self) -> str:
        """`text_linking`; ready for a service set by hand (not through `start`) whose linker has nothing to load."""
        if self.text_linking == "waiting" and self.service is not None and self.service.linker.loaded:
            return "ready"
        return self.text_linking

    def after_load(self, step: Callable[[], None]) -> None:
        """Run `step` in the load thread once the service is ready, before the heap is settled (its objects are then
        exempt from collections too); a step that fails is logged and skipped."""
        self._after_load.append(step)

    def start(self) -> None:
        """Create the thread limiters (inside the event loop); build the service and load text linking in a daemon thread."""
        self._limiter = anyio.CapacityLimiter(self.settings.api_threads)
        self._text_limiter = anyio.CapacityLimiter(self.settings.api_text_threads)
        if self._thread is not None:
            return
        if self.service is None:
            self._thread = threading.Thread(target=self._load, name="raregraph-load", daemon=True)
        elif self.service.linker.loaded:
            self.text_linking = "ready"
        else:  # a service made by the caller, its embedding tier not loaded yet
            self.text_linking = "loading"
            self._thread = threading.Thread(target=self._load_text, args=(self.service,), name="raregraph-load-text",
                                            daemon=True)
        if self._thread is not None:
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the build ended (ready or failed); for tests and the CLI."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            service = self._build(self.settings)
            _warm_up(service)
            settle_heap()
        except Exception as err:  # noqa: BLE001 - reported through /readyz and 503s, never raised into the loop
            info = describe_error(err)
            self.failure = info.message if info else f"unexpected {type(err).__name__} while loading (see the log)"
            log.error("service failed to load", exc_info=info is None, extra={"kind": info.kind if info else "bug"})
            return
        self.load_seconds = round(time.perf_counter() - started, 3)
        self.text_linking = "loading"
        self.service = service
        log.info("service ready", extra={"snapshot_id": service.snapshot_id, "load_s": self.load_seconds})
        for step in self._after_load:
            try:
                step()
            except Exception:  # noqa: BLE001 - a step prepares what a request would otherwise do on first use
                log.warning("a load step failed; what it prepares is done on first use", exc_info=True)
        self._load_text(service)  # settles the heap again

    def _load_text(self, service: Retriever) -> None:
        """The text linker's caches, and the embedding model and index when the tier is on (seconds when cached)."""
        started = time.perf_counter()
        try:
            status = load_text_linking(service)
        except Exception as err:  # noqa: BLE001 - ranking is unaffected; text requests report the failure
            self.text_linking = f"failed: {type(err).__name__}"
            log.warning("text linking failed to load", exc_info=True)
            return
        self.text_load_seconds = round(time.perf_counter() - started, 3)
        settle_heap()
        self.text_linking = "ready"
        log.info("text linking ready", extra={"embedding": status, "load_s": self.text_load_seconds})

    def require(self) -> Retriever:
        """The service, or 503 (`graph-unavailable`) while it loads or after it failed to."""
        if self.service is not None:
            return self.service
        if self.failure is not None:
            raise GraphUnavailableError(f"the service could not start: {self.failure}")
        raise GraphUnavailableError("the ranking index is still loading; retry shortly (GET /readyz tells when ready)")

    def pipeline(self, llm_client: LlmClient | None) -> DiagnosisPipeline:
        """The app's diagnosis pipeline over the service (503 until it is ready), retrieval offloaded by `run`."""
        service = self.require()
        if self._pipeline is None or self._pipeline.llm_client is not llm_client:
            self._pipeline = DiagnosisPipeline(service, self.settings, llm_client=llm_client, offload=self.run)
        return self._pipeline

    def memo(self, name: str, build: Callable[[Retriever], T]) -> T:
        """A value derived once from the service (lookup indexes), built on first use under a lock."""
        service = self.require()
        with self._memo_lock:
            if name not in self._memo:
                self._memo[name] = build(service)
            return self._memo[name]  # type: ignore[no-any-return]

    async def run(self, fn: Callable[..., T], *args: Any, text: bool = False) -> T:
        """`fn(*args)` in a worker thread, under the per-request time limit and its lane's thread limit.

        `text`: the work links clinical text, so it takes a thread of the text lane
        (RAREGRAPH_API_TEXT_THREADS), never one of RAREGRAPH_API_THREADS: however many large
        texts arrive, requests with ids only find a free thread. Waiting for a thread counts
        against the time limit.

        Raises:
            TimeoutError: past `api_request_timeout_s`. The work is told to stop (`CancelToken`) and does
                so at its next checkpoint; its result is dropped.
        """
        token = CancelToken()
        try:
            with anyio.fail_after(self.settings.api_request_timeout_s):
                return await anyio.to_thread.run_sync(token.run, fn, *args, abandon_on_cancel=True,
                                                      limiter=self._text_limiter if text else self._limiter)
        finally:
            token.cancel("its request timed out or was cancelled")  # a no-op for work that finished


def load_text_linking(service: Retriever) -> str:
    """Load what a first text request would: the exact tier's caches, then the embedding index and model.

    Returns the embedding tier's status ('on', 'off: …' or 'unavailable: …', which leaves the exact tier).
    """
    service.extract("seizures")
    index = service.linker.build_index()
    if index is not None:
        limit_threads(1)  # one core per text-lane thread (RAREGRAPH_API_TEXT_THREADS), after a first build used all
        index.search(["seizures"])  # the encoder's first call allocates its buffers
    return service.linker.embedding_status


def settle_heap() -> None:
    """Collect, then exempt what is left (the loaded service: indices, lookup tables) from later collections.

    It lives as long as the process, and each full collection walked all of it again: ~0.1 s every
    ~200 answers on the default snapshot, ~0.5 ms of CPU an answer (benchmarks/api_load.py). Objects
    made after this (requests, a case-evidence refresh) are collected as usual.
    """
    gc.collect()
    gc.freeze()


def _warm_up(service: Retriever) -> None:
    """Touch the lazily built caches a first request would otherwise pay for (one small ranking, lookups)."""
    from raregraph.models import CaseRequest

    index = service.engine.index
    term = next(iter(index.term_position), None)
    if term is not None:
        service.diagnose(CaseRequest(hpo_present=[term]), top=1)
    service.graph.search("syndrome", 1)
    if index.disease_ids:
        service.graph.disease_phenotypes(index.disease_ids[:1])
        service.graph.genes_of_diseases(index.disease_ids[:1])


# `async def` on purpose: FastAPI runs a plain `def` dependency in the thread pool, a hop per request.


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_service(request: Request) -> Retriever:
    runtime: Runtime = request.app.state.runtime
    return runtime.require()


async def get_pipeline(request: Request) -> DiagnosisPipeline:
    """The pipeline, with the app's one LLM client (made in the lifespan when an endpoint is configured).

    Without a client (an app used without its lifespan) the LLM step opens and closes one of its own per request.
    """
    runtime: Runtime = request.app.state.runtime
    return runtime.pipeline(getattr(request.app.state, "llm_client", None))


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[Retriever, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PipelineDep = Annotated[DiagnosisPipeline, Depends(get_pipeline)]
