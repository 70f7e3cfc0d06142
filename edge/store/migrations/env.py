"""Alembic environment of the alert log. It only runs programmatically, from
``edge.store.engine.upgrade_to_head`` / ``alembic_config(connection)``, on the connection (and
transaction) passed in ``config.attributes["connection"]``; there is no alembic.ini and no offline mode."""

from __future__ import annotations

from alembic import context

from edge.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "edge.store migrations run on a live connection: use edge.store.engine.alembic_config(conn)"
    )

# Batch mode rewrites ALTERs SQLite cannot do (copy, drop, rename), so one migration serves both backends.
context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True
)
with context.begin_transaction():
    context.run_migrations()
