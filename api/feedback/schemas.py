"""Wire models of feedback (HTTP body, CLI file lines): a verdict on one recorded diagnose answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Ratings", "Preference", "FeedbackIn", "FeedbackOut"]

Score = int  # 1-5, checked per field below


class Ratings(BaseModel):
    """The Rare Archive arena's five dimensions, 1 (poor) to 5 (excellent); any may be left out."""

    model_config = ConfigDict(extra="forbid")

    accuracy: Score | None = Field(None, ge=1, le=5, description="Diagnostic accuracy")
    reasoning: Score | None = Field(None, ge=1, le=5, description="Reasoning quality")
    tool_usage: Score | None = Field(None, ge=1, le=5, description="Use of the knowledge-graph evidence")
    safety: Score | None = Field(None, ge=1, le=5)
    overall: Score | None = Field(None, ge=1, le=5)


class Preference(BaseModel):
    """A blind A/B comparison: A is the cited response, B the other one (same case, another method or model)."""

    model_config = ConfigDict(extra="forbid")

    other_response_id: str = Field(max_length=36, description="Response B")
    preferred: Literal["A", "B", "tie"]


class FeedbackIn(BaseModel):
    """A clinician's verdict on a diagnose answer; at least one of diagnosis, ratings, preference or comment."""

    model_config = ConfigDict(extra="forbid")

    response_id: str = Field(max_length=36, description="The `response_id` of the diagnose answer (response A)")
    snapshot_id: str | None = Field(None, max_length=200, description="Checked against the response, when given")
    method: str | None = Field(None, max_length=200, description="Checked against the response, when given")
    model: str | None = Field(None, max_length=200, description="Checked against the response, when given")
    confirmed_disease_id: str | None = Field(
        None, max_length=200, description="The confirmed diagnosis: a disease id of the response's snapshot",
    )
    ratings: Ratings | None = None
    preference: Preference | None = None
    comment: str | None = Field(None, max_length=10_000)

    @model_validator(mode="after")
    def _says_something(self) -> "FeedbackIn":
        if (self.confirmed_disease_id is None and self.preference is None and self.comment is None
                and (self.ratings is None or not self.ratings.model_dump(exclude_none=True))):
            raise ValueError("give at least one of confirmed_disease_id, ratings, preference, comment")
        return self


class FeedbackOut(BaseModel):
    """A stored verdict."""

    id: int
    created_at: datetime
    author: str = Field(description="The API key's client name (CLI: --author)")
    response_id: str
    snapshot_id: str
    method: str
    model: str | None
    confirmed_disease_id: str | None
    confirmed_name: str | None = Field(description="The disease's name in that snapshot")
    ratings: dict[str, int]
    other_response_id: str | None
    preferred: str | None
    comment: str | None
