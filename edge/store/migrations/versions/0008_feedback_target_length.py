"""profile_feedback.profile: 160 characters, room for "profile@stream" with both names at their
64-character maximum (129; PostgreSQL refused such a row after the new profile version was saved)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("profile_feedback") as batch_op:
        batch_op.alter_column("profile", existing_type=sa.String(128), type_=sa.String(160))


def downgrade() -> None:
    with op.batch_alter_table("profile_feedback") as batch_op:
        batch_op.alter_column("profile", existing_type=sa.String(160), type_=sa.String(128))
