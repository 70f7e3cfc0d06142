"""issue 22: alerts.person (the person track within the stream; 0 for single-person frontends and
every alert written before) and alerts.box (the person's image-space box over the episode)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(sa.Column("person", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("box", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("box")
        batch_op.drop_column("person")
