"""Fixtures of the alert-log tests: a real SQLite file, the local PostgreSQL server (each test in a
schema of its own, dropped afterwards, so parallel runs never meet), and an alert factory."""

from __future__ import annotations

import getpass
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from edge.store import NewAlert

# The local server by default; CI may point elsewhere (e.g. a service container).
PG_HOST = os.environ.get("HAAD_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("HAAD_TEST_PG_PORT", "5432"))
PG_DB = "test"
MakeAlert = Callable[..., NewAlert]


@pytest.fixture(scope="session")
def pg_user() -> str:
    """A user the PostgreSQL server trusts (``postgres``, else the OS user)."""
    problems = []
    for user in dict.fromkeys(("postgres", getpass.getuser())):
        try:
            psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=user, connect_timeout=3).close()
            return user
        except psycopg.OperationalError as e:
            problems.append(f"{user}: {' '.join(str(e).split())}")
    why = f"PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DB} is unreachable ({'; '.join(problems)})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {why}")
    pytest.skip(why)


@pytest.fixture
def pg_url(pg_user: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema (libpq ``options=-csearch_path``)."""
    schema = f"haad_test_{uuid.uuid4().hex[:12]}"
    conninfo = f"host={PG_HOST} port={PG_PORT} dbname={PG_DB} user={pg_user}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql+psycopg://{pg_user}@{PG_HOST}:{PG_PORT}/{PG_DB}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'alerts.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on a SQLite file and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def make_alert() -> MakeAlert:
    """``make_alert(**overrides)``: a valid closed alert with K random windows (K=3 unless ``k=``)."""
    rng = np.random.default_rng(0)

    def make(k: int = 3, **overrides: Any) -> NewAlert:
        start = overrides.pop("started_at", datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
        fields: dict[str, Any] = {
            "stream_id": "cam1",
            "profile": "assembly",
            "profile_version": 2,
            "started_at": start,
            "ended_at": start + timedelta(seconds=4),
            "peak_score": 1.8,
            "mean_score": 1.4,
            "threshold": 1.2,
            "n_windows": k + 2,
            "model_version": "enc-3f9a2c",
            "windows": rng.normal(0.0, 0.5, size=(k, 60, 20, 3)).astype(np.float32),
            "window_times": np.cumsum(rng.uniform(0.2, 0.3, size=(k, 2)), axis=None).reshape(k, 2),
            "window_scores": rng.uniform(1.0, 2.0, size=k),
        }
        fields.update(overrides)
        return NewAlert(**fields)

    return make
