"""The feedback store: one SQLAlchemy engine (SQLite in WAL mode, or PostgreSQL by URL), migrated by Alembic.

The store connects lazily: an app whose database is down still starts and diagnoses; feedback
calls raise `StoreUnavailableError` (HTTP 503) until the database answers, and the schema is
brought to the newest revision on the first call that reaches it. One writer thread does every
write (writer.py): answers are logged in batches off the request's path, and each verdict commits
with its audit row in the writer's next transaction before it is acknowledged, so an acknowledged
write is durable and an unacknowledged one leaves nothing behind. SQLite: WAL with `synchronous=NORMAL` by default (an acknowledged
write survives the server being killed; RAREGRAPH_FEEDBACK_SQLITE_SYNCHRONOUS=full adds an fsync
per commit so it also survives power loss); PostgreSQL: its default `synchronous_commit=on`.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic_core import to_json

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from raregraph.api.feedback.models import RATING_DIMENSIONS, AuditRow, FeedbackRow, ResponseRow
from raregraph.api.feedback.schemas import FeedbackIn
from raregraph.api.feedback.writer import StoreWriter
from raregraph.errors import InvalidFeedbackError, StoreUnavailableError

__all__ = ["EncodedJson", "FeedbackStore", "Grounder", "StoredFeedback", "StoredResponse", "new_response_id"]

T = TypeVar("T")
log = logging.getLogger("raregraph.api.feedback")
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_PAGE_SIZE = 16_384  # bytes, for a store created from now on (see _sqlite_pragmas)
# (snapshot id, disease ids) -> {id: name} for the ids that exist in that snapshot
Grounder = Callable[[str, Sequence[str]], Mapping[str, str]]


class EncodedJson(str):
    """A JSON column's value already encoded (by pydantic): stored as it is, not encoded again."""


def _json_serializer(value: Any) -> str:
    # pydantic's encoder: ~3x json.dumps's speed; non-ASCII text stays UTF-8 (read back the same)
    return value if isinstance(value, EncodedJson) else to_json(value).decode()


def new_response_id() -> str:
    """A fresh response id (UUID4, 36 characters)."""
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StoredResponse:
    """A recorded answer, as exports read it."""

    id: str
    created_at: datetime
    snapshot_id: str
    method: str
    model: str | None
    llm_status: str | None
    case: dict[str, Any]
    retrieval: dict[str, Any]
    llm: dict[str, Any] | None
    ranking: list[str]

    @classmethod
    def of(cls, row: ResponseRow) -> "StoredResponse":
        return cls(row.id, row.created_at, row.snapshot_id, row.method, row.model, row.llm_status, row.case,
                   row.retrieval, row.llm, list(row.ranking))


@dataclass(frozen=True)
class StoredFeedback:
    """One verdict as stored."""

    id: int
    created_at: datetime
    author: str
    response_id: str
    snapshot_id: str
    method: str
    model: str | None
    confirmed_disease_id: str | None
    confirmed_name: str | None
    ratings: dict[str, int]
    other_response_id: str | None
    preferred: str | None
    comment: str | None
    withdrawn: bool

    @classmethod
    def of(cls, row: FeedbackRow) -> "StoredFeedback":
        ratings = {d: v for d in RATING_DIMENSIONS if (v := getattr(row, f"rating_{d}")) is not None}
        return cls(row.id, row.created_at, row.author, row.response_id, row.snapshot_id, row.method, row.model,
                   row.confirmed_disease_id, row.confirmed_name, ratings, row.other_response_id, row.preferred,
                   row.comment, row.withdrawn_at is not None)


class FeedbackStore:
    """Responses, feedback and the audit trail in one database; thread-safe, one per process."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "normal") -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        self._folder = Path(parsed.database).parent if self.dialect == "sqlite" and parsed.database else None
        if self.dialect == "sqlite":
            self.engine: Engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                                                json_serializer=_json_serializer)
            event.listen(self.engine, "connect", functools.partial(_sqlite_pragmas, sqlite_synchronous.upper()))
        else:
            connect_args = {"connect_timeout": 5} if self.dialect == "postgresql" else {}
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                                        connect_args=connect_args, json_serializer=_json_serializer)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # one thread writes, in groups: SQLite takes one writer at a time, and a commit per write was
        # most of a write's cost on either engine (writer.py)
        self._writer = StoreWriter(self.engine, ResponseRow.__table__, self._guard)
        self._migrated = False
        self._migrate_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> "FeedbackStore":
        """The store at RAREGRAPH_FEEDBACK_URL (default: SQLite in the data folder)."""
        return cls(settings.feedback_database_url(), sqlite_synchronous=settings.feedback_sqlite_synchronous)

    def close(self) -> None:
        """Write what is queued, stop the writer thread and close the connections (the store reopens on use)."""
        self._writer.close()
        self.engine.dispose()

    # --- schema -----------------------------------------------------------------------------------

    def migrate(self) -> str:
        """Bring the schema to the newest Alembic revision (idempotent); returns that revision."""
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        if self._folder is not None:
            try:
                self._folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreUnavailableError(f"feedback database folder {self._folder}: {err.strerror}") from err
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._guard(), self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        self._migrated = True
        return str(ScriptDirectory.from_config(config).get_current_head())

    def _ready(self) -> None:
        if self._migrated:
            return
        with self._migrate_lock:
            if not self._migrated:
                self.migrate()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Database-level failures (down, unreachable, locked past the timeout) become a 503."""
        try:
            yield
        except OperationalError as err:
            raise StoreUnavailableError(f"feedback database unavailable ({self.dialect}): {_first_line(err)}") from err
        except DBAPIError as err:
            if err.connection_invalidated:
                raise StoreUnavailableError(f"feedback database connection lost ({self.dialect})") from err
            raise

    def _read(self, fn: Callable[[Session], T]) -> T:
        """`fn` in a read session that sees every write queued before the call."""
        self.flush()
        with self._guard(), self._sessions() as session:
            return fn(session)

    def ping(self) -> None:
        """Raise `StoreUnavailableError` unless the database answers (and is migrated)."""
        self._ready()
        with self._guard(), self.engine.connect() as connection:
            connection.execute(select(1)).scalar_one()

    def prepare(self) -> None:
        """Migrate now if the database answers (else on first use, as every call does); never raises for the database."""
        try:
            self.ping()
        except StoreUnavailableError as err:
            log.warning("feedback store not ready at start", extra={"reason": str(err)})

    def writer_backlog(self) -> int:
        """Answers and writes queued for the writer thread or being written."""
        return self._writer.backlog()

    def flush(self) -> None:
        """Return once every answer and write queued before the call is in the database."""
        self._ready()
        self._writer.flush()

    # --- writes -----------------------------------------------------------------------------------

    def record_response(self, response_id: str, build: Callable[[], dict[str, Any]]) -> None:
        """Queue one answer so feedback can cite it (the answer itself is its own log: no audit row).

        `build()` gives the row's other columns (client, snapshot_id, method, model, llm_status, case,
        retrieval, llm, ranking); it runs on the writer thread, off the request's path. Raises
        StoreUnavailableError when the database is down (the answer then has no citable id).
        """
        self._ready()
        created_at = _now()
        self._writer.log_answer(lambda: {**build(), "id": response_id, "created_at": created_at})

    def add_feedback(self, items: Sequence[tuple[str, FeedbackIn]], *, author: str, ground: Grounder,
                     action: str = "feedback.create") -> list[StoredFeedback]:
        """Check and store verdicts, all or none, each with its audit row; returns once committed.

        `items` pairs each verdict with where it came from ("body", "file.jsonl:3"), for errors.

        Raises:
            InvalidFeedbackError: an unknown response id, a disease id not in the response's snapshot,
                claims that contradict the cited response, a preference without a second response.
            StoreUnavailableError: the database cannot be reached.
        """
        def write(connection: Connection) -> list[StoredFeedback]:
            rows = [_feedback_values(connection, where, item, author, ground) for where, item in items]  # checks first
            table = FeedbackRow.__table__
            ids = connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
            connection.execute(insert(AuditRow.__table__), [
                {"at": row["created_at"], "actor": author, "action": action, "target": f"feedback:{i}",
                 "detail": {"response_id": row["response_id"], "source": where}}
                for (where, _), row, i in zip(items, rows, ids, strict=True)])
            return [StoredFeedback.of(FeedbackRow(id=i, withdrawn_at=None, **row)) for i, row in zip(ids, rows, strict=True)]

        self._ready()
        return self._writer.submit(write)

    def withdraw(self, feedback_id: int, *, actor: str) -> StoredFeedback:
        """Take one verdict out of exports and case evidence (kept, marked withdrawn, audited)."""
        def write(connection: Connection) -> StoredFeedback:
            table = FeedbackRow.__table__
            found = connection.execute(select(table).where(table.c.id == feedback_id)).first()
            if found is None:
                raise InvalidFeedbackError(f"no feedback #{feedback_id}", field="feedback_id")
            row = FeedbackRow(**found._mapping)
            if row.withdrawn_at is None:
                row.withdrawn_at = _now()
                connection.execute(update(table).where(table.c.id == feedback_id).values(withdrawn_at=row.withdrawn_at))
                connection.execute(insert(AuditRow.__table__).values(
                    at=row.withdrawn_at, actor=actor, action="feedback.withdraw", target=f"feedback:{feedback_id}",
                    detail=None))
            return StoredFeedback.of(row)

        self._ready()
        return self._writer.submit(write)

    def audit(self, *, actor: str, action: str, target: str | None, detail: dict[str, Any] | None) -> None:
        """Record an event that writes nothing else (an export)."""
        self._ready()
        self._writer.submit(lambda connection: connection.execute(insert(AuditRow.__table__).values(
            at=_now(), actor=actor, action=action, target=target, detail=detail)) and None)

    # --- reads ------------------------------------------------------------------------------------

    def feedback(self, *, include_withdrawn: bool = False) -> list[StoredFeedback]:
        """Every verdict, oldest first."""
        def run(session: Session) -> list[StoredFeedback]:
            query = select(FeedbackRow).order_by(FeedbackRow.id)
            if not include_withdrawn:
                query = query.where(FeedbackRow.withdrawn_at.is_(None))
            return [StoredFeedback.of(r) for r in session.scalars(query)]
        return self._read(run)

    def responses(self, ids: Sequence[str]) -> dict[str, StoredResponse]:
        """The recorded answers among `ids` (unknown ids are left out)."""
        def run(session: Session) -> dict[str, StoredResponse]:
            found: dict[str, StoredResponse] = {}
            unique = list(dict.fromkeys(ids))
            for start in range(0, len(unique), 500):
                query = select(ResponseRow).where(ResponseRow.id.in_(unique[start:start + 500]))
                found.update((r.id, StoredResponse.of(r)) for r in session.scalars(query))
            return found
        return self._read(run)

    def audit_trail(self, limit: int = 1000) -> list[AuditRow]:
        """The newest audit rows, newest first."""
        return self._read(lambda s: list(s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))))

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        def run(session: Session) -> dict[str, int]:
            return {table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
                    for table in (ResponseRow, FeedbackRow, AuditRow)}
        return self._read(run)


def _feedback_values(connection: Connection, where: str, item: FeedbackIn, author: str,
                     ground: Grounder) -> dict[str, Any]:
    def bad(field: str, message: str) -> InvalidFeedbackError:
        return InvalidFeedbackError(f"{where}.{field}: {message}", field=f"{where}.{field}")

    responses = ResponseRow.__table__.c
    cited = connection.execute(select(responses.snapshot_id, responses.method, responses.model)
                               .where(responses.id == item.response_id)).first()
    if cited is None:
        raise bad("response_id", f"no recorded response {item.response_id!r} (cite the response_id a diagnose answer carries)")
    for claim in ("snapshot_id", "method", "model"):
        given, actual = getattr(item, claim), getattr(cited, claim)
        if given is not None and given != actual:
            raise bad(claim, f"{given!r} does not match the response's {claim} {actual!r}")
    name = None
    if item.confirmed_disease_id is not None:
        name = ground(cited.snapshot_id, [item.confirmed_disease_id]).get(item.confirmed_disease_id)
        if name is None:
            raise bad("confirmed_disease_id", f"unknown disease id {item.confirmed_disease_id!r} in snapshot "
                                              f"{cited.snapshot_id} (the snapshot the response was ranked on)")
    other = item.preference.other_response_id if item.preference else None
    if other is not None and connection.execute(select(responses.id).where(responses.id == other)).first() is None:
        raise bad("preference.other_response_id", f"no recorded response {other!r}")
    ratings = item.ratings.model_dump() if item.ratings else {}
    return {
        "created_at": _now(), "author": author, "response_id": item.response_id, "snapshot_id": cited.snapshot_id,
        "method": cited.method, "model": cited.model, "confirmed_disease_id": item.confirmed_disease_id,
        "confirmed_name": name, **{f"rating_{d}": ratings.get(d) for d in RATING_DIMENSIONS},
        "other_response_id": other, "preferred": item.preference.preferred if item.preference else None,
        "comment": item.comment,
    }


def _sqlite_pragmas(synchronous: str, connection: Any, _record: Any) -> None:
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"SQLite synchronous mode {synchronous!r}: expected normal or full")
    cursor = connection.cursor()
    # A new database only (an existing one keeps its page size): a recorded answer with evidence is ~50 kB,
    # 14 overflow pages of 4 KiB, each its own WAL frame and write; at 16 KiB the writer thread's CPU per
    # answer fell by about a third, and reading answers back got faster (benchmarks/answer_cpu.py)
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    # WAL + NORMAL: a commit is in the WAL file before it is acknowledged, so it survives the process
    # dying (kill -9); FULL also fsyncs each commit, surviving power loss (one fsync per write).
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err)
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__
