"""event_cursors.refused_s and refused_at: how long a sink has refused the event it is on, outages
left out. give_up_after_s counted from first_failure_at, through any outage since: an event refused
once before a day-long outage was skipped at its first refusal after it. A cursor refusing an event
at the upgrade counts that event's refusals from 0 again (later, never sooner).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_cursors") as batch_op:
        batch_op.add_column(sa.Column("refused_s", sa.Double(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_cursors") as batch_op:
        batch_op.drop_column("refused_at")
        batch_op.drop_column("refused_s")
