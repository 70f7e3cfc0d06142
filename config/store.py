"""Configuration of the alert log (edge/store): which database, how much of each episode it keeps."""

from __future__ import annotations

import os

from pydantic import Field, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from config.base import StrictModel
from config.secrets import SecretRef

# The drivers installed with haad; a bare postgresql:// would otherwise pick psycopg2, which is not.
_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def normalise_db_url(url: str) -> str:
    """``url`` with the driver haad uses (``postgresql://`` -> ``postgresql+psycopg://``); raises
    ``ValueError`` for anything but a SQLite file or a PostgreSQL server."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        # not echoed: what cannot be parsed cannot have its password hidden
        raise ValueError(
            "not a database URL: use sqlite:///<file> or postgresql+psycopg://<user>@<host>:<port>/<database>"
        ) from e
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported database {parsed.drivername!r}: use sqlite:///<file> or "
            "postgresql+psycopg://<user>@<host>:<port>/<database>"
        )
    if driver == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError(
            "SQLite needs a file (sqlite:///path/to/alerts.db); in-memory databases are not shared"
        )
    if driver == "sqlite":  # SQLite would take "~" literally
        parsed = parsed.set(database=os.path.expanduser(str(parsed.database)))
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


class RetentionConfig(StrictModel):
    """How long the alert log keeps what (edge/store/retention.py; the daemon applies it every
    ``every_s``, ``haad alerts prune`` on demand). Alerts marked normal into a profile version that
    still exists are never removed."""

    max_age_days: float = Field(
        default=90.0,
        ge=0,
        le=36_500,
        description="Alerts that started longer ago are deleted; 0: no age limit.",
    )
    max_rows: int = Field(
        default=100_000,
        ge=0,
        le=100_000_000,
        description="Beyond this many alerts the oldest go; 0: no limit.",
    )
    windows_days: float = Field(
        default=30.0,
        ge=0,
        le=36_500,
        description="Skeleton windows are dropped (the alert row stays) after this many days; 0: kept with the alert.",
    )
    events_days: float = Field(
        default=7.0,
        gt=0,
        le=3650,
        description="Outbox events every sink has delivered are deleted after this many days.",
    )
    every_s: float = Field(
        default=3600.0, ge=10, le=7 * 86_400, description="How often the running daemon applies retention."
    )


class StoreConfig(StrictModel):
    """The alert log: one row per abnormal-action episode, with the skeleton windows to replay it."""

    url: str = Field(
        default="sqlite:///haad-alerts.db",
        description=(
            "SQLAlchemy URL: sqlite:///<file> (WAL mode; one host) or "
            "postgresql+psycopg://<user>@<host>:<port>/<database> (the password in `password`)."
        ),
    )
    password: SecretRef | None = Field(
        default=None, description="The database password: {env: NAME} or {file: PATH}, never inline."
    )
    keep_windows: int = Field(
        default=12,
        ge=1,
        le=1000,
        description="Most skeleton windows stored per alert: the first, the peak, the last and others "
        "spread evenly between (marking the alert normal learns the stretches they cover).",
    )
    busy_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long a SQLite writer waits for another one's lock (and PostgreSQL for a connection).",
    )
    timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Longest a database call of the alert writer may take (a hung server, a frozen "
        "network path): it is cut and retried later, while the alerts wait in the outbox.",
    )
    deliver_every_s: float = Field(
        default=0.5,
        ge=0,
        le=10,
        description="Shortest time between two deliveries to the alert log while alerts keep coming: "
        "an episode's states of one interval go as one row (its newest), and the worker's hot path "
        "shares the interpreter with fewer database round trips (docs/worker.md). 0: deliver at once.",
    )
    pool_size: int = Field(default=5, ge=1, le=100, description="Connections kept open per process.")
    max_overflow: int = Field(
        default=5, ge=0, le=100, description="Extra connections opened under load beyond pool_size."
    )
    pool_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="How long a caller waits for a free pooled connection."
    )

    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="What is deleted when (age, rows, windows, events)."
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        return normalise_db_url(v)
