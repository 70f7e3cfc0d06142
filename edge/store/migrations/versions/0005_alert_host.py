"""issue 25, a fleet on one alert log: alerts.host, the daemon that raised each alert

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=128), server_default="", nullable=False))
        batch_op.create_index("ix_alerts_host_started_at", ["host", "started_at"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_index("ix_alerts_host_started_at")
        batch_op.drop_column("host")
