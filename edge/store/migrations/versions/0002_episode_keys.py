"""alerts.episode_key: the stable key of an episode, so a rewrite of its row (a replayed outbox, a
restarted worker resuming it) never adds a second row

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(sa.Column("episode_key", sa.String(length=64), nullable=True))
    # Rows written before keys existed get one of their own.
    op.execute("UPDATE alerts SET episode_key = 'row-' || CAST(id AS VARCHAR(20)) WHERE episode_key IS NULL")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.alter_column("episode_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_alerts_episode_key"), ["episode_key"])
        batch_op.create_index("ix_alerts_ended_at", ["ended_at"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_index("ix_alerts_ended_at")
        batch_op.drop_constraint(op.f("uq_alerts_episode_key"), type_="unique")
        batch_op.drop_column("episode_key")
