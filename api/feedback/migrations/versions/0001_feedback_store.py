"""The feedback store: responses, feedback, audit.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)
_DIMENSIONS = ("accuracy", "reasoning", "tool_usage", "safety", "overall")


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("client", sa.String(200)),
        sa.Column("snapshot_id", sa.String(200), nullable=False),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200)),
        sa.Column("llm_status", sa.String(40)),
        sa.Column("case", _JSON, nullable=False),
        sa.Column("retrieval", _JSON, nullable=False),
        sa.Column("llm", _JSON),
        sa.Column("ranking", _JSON, nullable=False),
    )
    op.create_index("ix_responses_snapshot_id", "responses", ["snapshot_id"])
    op.create_table(
        "feedback",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("response_id", sa.String(36), sa.ForeignKey("responses.id"), nullable=False),
        sa.Column("snapshot_id", sa.String(200), nullable=False),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200)),
        sa.Column("confirmed_disease_id", sa.String(200)),
        sa.Column("confirmed_name", sa.Text()),
        *[sa.Column(f"rating_{d}", sa.SmallInteger()) for d in _DIMENSIONS],
        sa.Column("other_response_id", sa.String(36), sa.ForeignKey("responses.id")),
        sa.Column("preferred", sa.String(3)),
        sa.Column("comment", sa.Text()),
        sa.Column("withdrawn_at", _AT),
        *[sa.CheckConstraint(f"rating_{d} BETWEEN 1 AND 5", name=f"ck_feedback_rating_{d}") for d in _DIMENSIONS],
        sa.CheckConstraint("preferred IN ('A', 'B', 'tie')", name="ck_feedback_preferred"),
    )
    op.create_index("ix_feedback_response_id", "feedback", ["response_id"])
    op.create_index("ix_feedback_confirmed_disease_id", "feedback", ["confirmed_disease_id"])
    op.create_table(
        "audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", _AT, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(200)),
        sa.Column("detail", _JSON),
    )
    op.create_index("ix_audit_at", "audit", ["at"])


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("feedback")
    op.drop_table("responses")
