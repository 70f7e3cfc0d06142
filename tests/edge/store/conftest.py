"""Fixtures of the alert-log tests: a real SQLite file, the local PostgreSQL server (``pg_url``,
tests/conftest.py), and an alert factory."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.store import NewAlert

MakeAlert = Callable[..., NewAlert]


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
            "episode_key": uuid.uuid4().hex,
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
