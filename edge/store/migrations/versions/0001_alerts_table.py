"""alerts table: one row per abnormal-action episode, with its skeleton windows as an npz blob

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain types (not edge.store.models.UTCDateTime): a migration must not change when the models do.
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.String(length=128), nullable=False),
        sa.Column("profile", sa.String(length=128), nullable=False),
        sa.Column("profile_version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("peak_score", sa.Double(), nullable=False),
        sa.Column("mean_score", sa.Double(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("n_windows", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.Column("n_kept", sa.Integer(), nullable=False),
        sa.Column("windows_npz", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="new", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('new', 'confirmed', 'dismissed')", name=op.f("ck_alerts_status")),
        sa.CheckConstraint("n_windows >= 1 AND n_kept >= 1", name=op.f("ck_alerts_window_counts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.create_index("ix_alerts_started_at", ["started_at"])
        batch_op.create_index("ix_alerts_stream_id_started_at", ["stream_id", "started_at"])
        batch_op.create_index("ix_alerts_profile_started_at", ["profile", "started_at"])
        batch_op.create_index("ix_alerts_status", ["status"])


def downgrade() -> None:
    op.drop_table("alerts")  # drops its indexes too
