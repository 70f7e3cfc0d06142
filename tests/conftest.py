"""Shared fixtures. Tests that need ../shared/data skip without it, except in CI (CI=true) where a
missing dataset is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.datasets import DataNotFoundError, resolve_data_root


@pytest.fixture(scope="session")
def data_root() -> Path:
    try:
        return resolve_data_root()
    except DataNotFoundError as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the shared datasets are missing: {e}")
        pytest.skip(f"shared datasets not available: {e}")
