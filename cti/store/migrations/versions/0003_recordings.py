"""call recordings: one row per recorded call (file, times, the agent's pauses)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("paused_seconds", sa.Float(), nullable=False),
        sa.Column("pauses", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "call_id", name=op.f("pk_recordings")),
    )
    op.create_index(
        "ix_recordings_tenant_started", "recordings", ["tenant_id", "started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_recordings_tenant_started", table_name="recordings")
    op.drop_table("recordings")
