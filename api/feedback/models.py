"""The feedback database's tables (SQLAlchemy 2); the schema itself is owned by the Alembic migrations.

`responses`: every answer the API gave that feedback may cite (the case as HPO ids, variants, sex,
age — free text only with RAREGRAPH_FEEDBACK_STORE_TEXT — and the retrieval differential the
prompt is built from). `feedback`: one clinician verdict on one response. `audit`: one row per
write and export, in the same transaction as the write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.types import TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "ResponseRow", "FeedbackRow", "AuditRow", "RATING_DIMENSIONS"]

RATING_DIMENSIONS = ("accuracy", "reasoning", "tool_usage", "safety", "overall")  # the Rare Archive arena's five

Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC timestamp read back timezone-aware on every engine (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


Moment = UtcDateTime()


class Base(DeclarativeBase):
    pass


class ResponseRow(Base):
    """One diagnose answer, kept so that feedback can cite it and exports can rebuild its prompt."""

    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(Moment)
    client: Mapped[str | None] = mapped_column(String(200))
    snapshot_id: Mapped[str] = mapped_column(String(200), index=True)
    method: Mapped[str] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    llm_status: Mapped[str | None] = mapped_column(String(40))
    case: Mapped[dict[str, Any]] = mapped_column(Json)
    retrieval: Mapped[dict[str, Any]] = mapped_column(Json)
    llm: Mapped[dict[str, Any] | None] = mapped_column(Json)
    ranking: Mapped[list[str]] = mapped_column(Json)


class FeedbackRow(Base):
    """A clinician's verdict on one response: confirmed diagnosis, ratings, an A/B preference, a comment."""

    __tablename__ = "feedback"
    __table_args__ = tuple(
        CheckConstraint(f"rating_{d} BETWEEN 1 AND 5", name=f"ck_feedback_rating_{d}") for d in RATING_DIMENSIONS
    ) + (CheckConstraint("preferred IN ('A', 'B', 'tie')", name="ck_feedback_preferred"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(Moment)
    author: Mapped[str] = mapped_column(String(200))
    response_id: Mapped[str] = mapped_column(ForeignKey("responses.id"), index=True)
    snapshot_id: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    confirmed_disease_id: Mapped[str | None] = mapped_column(String(200), index=True)
    confirmed_name: Mapped[str | None] = mapped_column(Text)
    rating_accuracy: Mapped[int | None] = mapped_column(SmallInteger)
    rating_reasoning: Mapped[int | None] = mapped_column(SmallInteger)
    rating_tool_usage: Mapped[int | None] = mapped_column(SmallInteger)
    rating_safety: Mapped[int | None] = mapped_column(SmallInteger)
    rating_overall: Mapped[int | None] = mapped_column(SmallInteger)
    other_response_id: Mapped[str | None] = mapped_column(ForeignKey("responses.id"))
    preferred: Mapped[str | None] = mapped_column(String(3))
    comment: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(Moment)


class AuditRow(Base):
    """Who did what to the store, when: every feedback write, withdrawal and export."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Moment, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(Json)
