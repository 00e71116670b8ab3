"""One writer thread per feedback store: answers are logged in batches, writes are committed in groups.

Every diagnose answer is recorded so that feedback can cite it. Written one transaction per answer
on the request's thread, that record cost the API a quarter of its throughput (README "Measured"):
here the request thread only queues a callable that builds the row, and the writer inserts what has
queued in one statement and one commit. Feedback, withdrawals and audit events are `Job`s the caller
waits for: the writer runs every job that queued while it was busy in the same transaction (group
commit), each job reading and checking before it writes, and answers a job only once that
transaction has committed, so an acknowledged write is durable.

Answers are queued before anything can cite them (an answer's id reaches the client only after
its row is queued, and the writer takes the queue in order), so a verdict always finds the answer it
cites, even when both are in the same batch. The price of not waiting for the answer's commit: a
`kill -9` loses the answers of the batch in flight (at most `MAX_BATCH`, their ids not citable) and
those still lingering (`LINGER_S`: answers wait that long for others to share their transaction,
unless a job queues), never an acknowledged verdict.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, Table, insert

from raregraph.errors import RaregraphError, StoreUnavailableError

__all__ = ["StoreWriter", "Job", "MAX_BATCH", "MAX_PENDING_ANSWERS"]

T = TypeVar("T")
log = logging.getLogger("raregraph.api.feedback")
MAX_BATCH = 256  # answers or jobs per transaction: bounds a batch's time and what a crash can lose
MAX_PENDING_ANSWERS = 5_000  # answers waiting for a database that is down; past it answers go unrecorded
# Answers with no job queued wait up to this long for more to share their transaction: one transaction per
# answer cost the API ~1 ms of CPU an answer (an insert statement and a commit; benchmarks/api_load.py).
LINGER_S = 0.25
RETRY_S = 1.0  # between attempts to write answers while the database is down


@dataclass
class Job(Generic[T]):
    """A write a caller waits for: `run(connection)` reads, checks, then writes; raises to write nothing."""

    run: Callable[[Connection], T]
    future: Future[T] = field(default_factory=Future)


class StoreWriter:
    """The one thread that writes to the store; `guard` turns database failures into StoreUnavailableError."""

    def __init__(self, engine: Engine, answers: Table, guard: Callable[[], Any], *, linger_s: float = LINGER_S) -> None:
        self._engine = engine
        self._linger_s = linger_s
        self._jobs_queued = 0  # jobs in _queue: none waits for an answer's linger
        self._answers = answers
        self._guard = guard
        self._queue: deque[Callable[[], dict[str, Any]] | Job[Any]] = deque()
        self._pending_answers = 0
        self._failing: str | None = None  # why the last answer batch failed, while it keeps failing
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._in_flight = 0  # answers and jobs taken from the queue, not yet settled

    # --- callers ----------------------------------------------------------------------------------

    def log_answer(self, build_row: Callable[[], dict[str, Any]]) -> None:
        """Queue one answer's row (built on the writer thread); StoreUnavailableError while the database is down."""
        with self._wake:
            if self._failing is not None:
                raise StoreUnavailableError(self._failing)
            if self._pending_answers >= MAX_PENDING_ANSWERS:
                raise StoreUnavailableError(f"feedback store is {self._pending_answers} answers behind")
            self._pending_answers += 1
            self._queue.append(build_row)
            self._start()
            if len(self._queue) == 1 or len(self._queue) >= MAX_BATCH:  # else the writer is busy or lingering:
                self._wake.notify()  # waking it for each answer cost the request threads the GIL

    def submit(self, run: Callable[[Connection], T]) -> T:
        """Run `run` in the writer's next transaction and return its result once committed (or raise its error)."""
        job: Job[T] = Job(run)
        with self._wake:
            self._queue.append(job)
            self._jobs_queued += 1
            self._start()
            self._wake.notify()
        return job.future.result()

    def backlog(self) -> int:
        """Answers and jobs queued or being written."""
        with self._wake:
            return len(self._queue) + self._in_flight

    def flush(self) -> None:
        """Return once everything queued before this call is written (a no-op job behind it)."""
        if self._thread is not None:
            self.submit(lambda _connection: None)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (for at most `timeout` s) and stop the thread; it restarts on the next write."""
        with self._wake:
            thread, self._stopping = self._thread, True
            self._wake.notify()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("feedback writer did not finish", extra={"answers_pending": self._pending_answers})
        with self._wake:
            self._stopping = False

    # --- the thread -------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="feedback-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        held: list[dict[str, Any]] = []  # answer rows waiting for the database to come back
        while True:
            with self._wake:
                if held and not self._queue and not self._stopping:
                    self._wake.wait(RETRY_S)
                while not self._queue and not held and not self._stopping:
                    self._wake.wait()
                if not self._queue and not held:
                    self._thread = None  # a write queued from now on starts a new writer
                    return
                self._linger()
                batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
                self._jobs_queued -= sum(isinstance(item, Job) for item in batch)
                stopping = self._stopping
                self._in_flight = len(batch)
            jobs = [item for item in batch if isinstance(item, Job)]
            rows = held + self._build([item for item in batch if not isinstance(item, Job)])
            held = self._commit(jobs, rows)
            with self._wake:
                self._in_flight = 0
            if held and stopping:
                log.error("answers not recorded: the store stopped while its database was down",
                          extra={"answers": len(held)})
                self._settled(len(held), written=False)
                with self._wake:
                    self._thread = None
                return

    def _linger(self) -> None:
        """Hold queued answers (no job among them) for up to `linger_s`, or until a job, a full batch or close
        arrives, so that the answers of a busy server share one transaction. Called holding `_wake`."""
        deadline = time.monotonic() + self._linger_s
        while (self._queue and not self._jobs_queued and not self._stopping and self._failing is None
               and len(self._queue) < MAX_BATCH and (left := deadline - time.monotonic()) > 0):
            self._wake.wait(left)

    def _build(self, builders: list[Callable[[], dict[str, Any]]]) -> list[dict[str, Any]]:
        rows = []
        for build in builders:
            try:
                rows.append(build())
            except Exception:  # one answer whose row cannot be built must not lose the batch
                log.exception("answer not recorded: its row could not be built")
                self._settled(1, written=False)
        return rows

    def _commit(self, jobs: list[Job[Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write `rows` and run `jobs` in one transaction; returns the rows to retry (database down)."""
        try:
            results = self._transaction(jobs, rows)
        except StoreUnavailableError as err:
            for job in jobs:
                job.future.set_exception(StoreUnavailableError(str(err)))  # one exception object per waiting thread
            if rows:  # these answers were given a citable id: retry them until the database is back
                log.warning("answers not yet recorded", extra={"reason": str(err), "answers": len(rows)})
                with self._wake:
                    self._failing = str(err)
            return rows
        except Exception as err:  # a write that failed (not a check): find whose, one transaction each
            if len(jobs) + bool(rows) > 1:
                held = self._commit([], rows) if rows else []
                for job in jobs:
                    self._commit([job], [])
                return held
            for job in jobs:
                job.future.set_exception(err)
            if rows:
                log.exception("answers not recorded", extra={"answers": len(rows)})
                self._settled(len(rows), written=False)
            return []
        for job, (outcome, refused) in zip(jobs, results, strict=True):
            if refused:
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)
        if rows:
            self._settled(len(rows), written=True)
        return []

    def _transaction(self, jobs: list[Job[Any]], rows: list[dict[str, Any]]) -> list[tuple[Any, bool]]:
        """One transaction: the answers, then each job; a job raising a RaregraphError has written nothing."""
        results: list[tuple[Any, bool]] = []
        with self._guard(), self._engine.begin() as connection:
            if rows:
                connection.execute(insert(self._answers), rows)
            for job in jobs:
                try:
                    results.append((job.run(connection), False))
                except RaregraphError as err:  # refused by its checks, before any write
                    results.append((err, True))
        return results

    def _settled(self, answers: int, *, written: bool) -> None:
        with self._wake:
            self._pending_answers -= answers
            if written:
                self._failing = None
