"""campaigns: lists of customers to call, where each contact stands, the do-not-call list,
and the campaign of each call it placed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("campaign", sa.String(64), nullable=True))
    op.create_index("ix_calls_tenant_campaign", "calls", ["tenant_id", "campaign", "queued_at"])
    op.create_table(
        "campaigns",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("caller_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hours", sa.String(16), nullable=False),
        sa.Column("days", sa.String(32), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("busy_minutes", sa.Float(), nullable=False),
        sa.Column("no_answer_minutes", sa.Float(), nullable=False),
        sa.Column("failed_minutes", sa.Float(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("ring_seconds", sa.Integer(), nullable=False),
        sa.Column("record", sa.Boolean(), nullable=False),
        sa.Column("dispositions", sa.String(2000), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_campaigns"),
    )
    op.create_table(
        "campaign_contacts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("last_result", sa.String(16), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("call_id", sa.String(80), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_contacts"),
    )
    op.create_index(
        "uq_campaign_contacts_number",
        "campaign_contacts",
        ["tenant_id", "campaign_id", "number"],
        unique=True,
    )
    op.create_index(
        "ix_campaign_contacts_due",
        "campaign_contacts",
        ["tenant_id", "campaign_id", "status", "next_at"],
    )
    op.create_table(
        "do_not_call",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("number", sa.String(32), primary_key=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("added_by", sa.String(64), nullable=True),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "number", name="pk_do_not_call"),
    )


def downgrade() -> None:
    op.drop_index("ix_calls_tenant_campaign", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("campaign")
    op.drop_table("do_not_call")
    op.drop_index("ix_campaign_contacts_due", table_name="campaign_contacts")
    op.drop_index("uq_campaign_contacts_number", table_name="campaign_contacts")
    op.drop_table("campaign_contacts")
    op.drop_table("campaigns")
