"""StoreConfig: URL validation and normalisation, bounds, loading from YAML."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from config.loader import ConfigError, parse_config
from config.store import StoreConfig


def test_defaults_are_a_local_sqlite_file() -> None:
    cfg = StoreConfig()
    assert cfg.url == "sqlite:///haad-alerts.db"
    assert cfg.keep_windows >= 2  # room for the first and the peak window


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("sqlite:////var/lib/haad/alerts.db", "sqlite:////var/lib/haad/alerts.db"),
        ("sqlite+pysqlite:///alerts.db", "sqlite:///alerts.db"),
        ("postgresql+psycopg://haad@db:5432/alerts", "postgresql+psycopg://haad@db:5432/alerts"),
        ("postgresql://haad:s3cret@db/alerts", "postgresql+psycopg://haad:s3cret@db/alerts"),
        ("postgres://haad@db/alerts", "postgresql+psycopg://haad@db/alerts"),
    ],
)
def test_sqlite_and_postgresql_urls_are_accepted_with_haads_driver(url: str, normalised: str) -> None:
    assert StoreConfig(url=url).url == normalised


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/alerts", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@h/db", "unsupported database 'postgresql\\+psycopg2'"),
        ("sqlite://", "SQLite needs a file"),
        ("sqlite:///:memory:", "SQLite needs a file"),
        ("alerts.db", "not a database URL"),
    ],
)
def test_other_urls_are_rejected_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        StoreConfig(url=url)


@pytest.mark.parametrize(
    "field", [{"keep_windows": 0}, {"busy_timeout_s": 0}, {"pool_size": 0}, {"max_overflow": -1}]
)
def test_out_of_bounds_values_are_rejected(field: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        StoreConfig(**field)


def test_yaml_errors_name_the_line() -> None:
    text = "url: sqlite:///alerts.db\nkeep_windows: 4\nurll: x\n"
    with pytest.raises(ConfigError, match=r"store.yaml:3: urll"):
        parse_config(text, StoreConfig, source="store.yaml")
    assert parse_config("keep_windows: 4\n", StoreConfig).keep_windows == 4
