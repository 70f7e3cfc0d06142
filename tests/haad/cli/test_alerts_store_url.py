"""``haad alerts`` given an alert log URL it cannot open: one line saying what to fix."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

from haad.cli.alerts import app
from tests.conftest import PG_DB, PG_HOST, PG_PORT


def test_a_postgresql_schema_that_does_not_exist_says_to_create_it(pg_user: str) -> None:
    # It printed psycopg's "no schema has been selected to create in", then the SQL of alembic's
    # first CREATE TABLE over two more lines: nothing named the search_path or what to do.
    schema = f"haad_missing_{uuid.uuid4().hex[:12]}"  # never created
    url = f"postgresql+psycopg://{pg_user}@{PG_HOST}:{PG_PORT}/{PG_DB}?options=-csearch_path%3D{schema}"
    result = CliRunner().invoke(app, ["list"], env={"HAAD_DB": url})
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"error: cannot open postgresql+psycopg://***@{PG_HOST}:{PG_PORT}/{PG_DB}?options=***: the schema "
        "its search_path names does not exist; create it (CREATE SCHEMA name) or fix store.url (--db, HAAD_DB)"
    ]
