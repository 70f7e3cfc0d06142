"""review, events out and live status: events outbox + sink cursors, profile feedback, stream status;
alerts.reviewed_by, and alerts.windows_npz may be NULL (retention dropped the windows)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(
            sa.Column("reviewed_by", sa.String(length=128), server_default="", nullable=False)
        )
        batch_op.alter_column("windows_npz", existing_type=sa.LargeBinary(), nullable=True)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.String(length=128), nullable=False),
        sa.Column("profile", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('open', 'update', 'close')", name=op.f("ck_events_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events") as batch_op:
        batch_op.create_index("ix_events_created_at", ["created_at"])
    op.create_table(
        "event_cursors",
        sa.Column("sink", sa.String(length=160), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sink", name=op.f("pk_event_cursors")),
    )
    op.create_table(
        "profile_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=128), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('normal', 'undo')", name=op.f("ck_profile_feedback_action")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_feedback")),
    )
    with op.batch_alter_table("profile_feedback") as batch_op:
        batch_op.create_index("ix_profile_feedback_alert_id", ["alert_id"])
        batch_op.create_index("ix_profile_feedback_profile_version", ["profile", "version"])
    op.create_table(
        "stream_status",
        sa.Column("stream_id", sa.String(length=128), nullable=False),
        sa.Column("profile", sa.String(length=128), nullable=False),
        sa.Column("profile_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("fps", sa.Double(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("windows_scored", sa.Integer(), nullable=False),
        sa.Column("recent", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", "profile", name=op.f("pk_stream_status")),
    )


def downgrade() -> None:
    op.drop_table("stream_status")
    op.drop_table("profile_feedback")
    op.drop_table("event_cursors")
    op.drop_table("events")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.alter_column("windows_npz", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("reviewed_by")
