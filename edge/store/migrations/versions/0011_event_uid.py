"""events.uid: a random id made with each event, unique across alert logs; SQLite events ids never
given out twice in one log

A receiver dropping duplicates by event id dropped the new events of another log: a log deleted and
made afresh, a backup put back, a new PostgreSQL database all give out ids again. The uid of each
event already written is made here. On SQLite the table turns AUTOINCREMENT: once retention deleted
every event, the next one took id 1 again, below every sink's cursor, and was never sent. Its
sequence starts above the ids of the events and of the cursors (events retention deleted).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # The default makes the uid of each row there is, and of each event an older haad still
        # running on another host that shares the log writes (naming none, it failed every alert
        # write on a NOT NULL column without a default until it was upgraded).
        uid = sa.Column(
            "uid", sa.String(length=36), server_default=sa.text("gen_random_uuid()::text"), nullable=False
        )
        op.add_column("events", uid)
        return
    op.add_column("events", sa.Column("uid", sa.String(length=36), nullable=True))
    ids = conn.scalars(sa.text("SELECT id FROM events")).all()
    if ids:
        conn.execute(
            sa.text("UPDATE events SET uid = :uid WHERE id = :id"),
            [{"uid": str(uuid.uuid4()), "id": i} for i in ids],
        )
    # Made again: AUTOINCREMENT is a property of its CREATE TABLE.
    with op.batch_alter_table(
        "events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column("uid", existing_type=sa.String(length=36), nullable=False)
    floor = conn.scalar(
        sa.text(
            "SELECT max(coalesce((SELECT max(id) FROM events), 0),"
            " coalesce((SELECT max(last_id) FROM event_cursors), 0))"
        )
    )
    conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'events'"))
    conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', :seq)"), {"seq": floor})


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("events", recreate="always" if sqlite else "auto") as batch_op:
        batch_op.drop_column("uid")
