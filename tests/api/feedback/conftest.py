"""The feedback store's engines: SQLite in a temp folder, and a real PostgreSQL server per test session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from raregraph.api.feedback.store import FeedbackStore
from tests.api.feedback import pg_server


@pytest.fixture(scope="session")
def postgres(free_port: Callable[[], int]) -> Iterator[pg_server.PgServer]:
    """The session's PostgreSQL server; skipped when the package is missing (under CI=true: failed)."""
    if pg_server.pg_bindir() is None:
        message = "PostgreSQL is not installed (make postgres, or apt-get install postgresql)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    server = pg_server.start(free_port())
    try:
        yield server
    finally:
        pg_server.stop(server)


@pytest.fixture
def postgres_url(postgres: pg_server.PgServer) -> Iterator[str]:
    """A fresh, empty database on the session's server for one test."""
    import psycopg

    name = f"t{os.urandom(6).hex()}"
    admin = f"host=127.0.0.1 port={postgres.port} user=raregraph dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://raregraph@127.0.0.1:{postgres.port}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both real engines."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[FeedbackStore]:
    opened = FeedbackStore(store_url)
    try:
        yield opened
    finally:
        opened.close()
