"""hourly call totals and repeat-contact chains for the historical reports

`call_hours` holds, per tenant, UTC hour, direction, queue and answering agent, the
additive totals of the calls that entered a queue in that hour; `calls` gains the
caller's FCR key and the arrival of the previous and next answered call of the same
caller within the FCR window (over all calls, the same queue's, the same agent's).
`cti.store.rollup` keeps both equal to the calls; existing rows are filled here. On
PostgreSQL the reports' covering index (0002) also carries the direction and the chains.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# the covering index of 0002 gains the columns the reports now read as well
REPORT_COLUMNS = [
    "queue",
    "outcome",
    "queue_seconds",
    "talk_seconds",
    "hold_seconds",
    "acw_seconds",
    "talk_ended_at",
    "transfers",
    "resolved",
    "agent",
    "customer_id",
    "caller_number",
    "call_id",
]
SL_BANDS = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)
FCR_COLUMNS = (
    "fcr_prev_at",
    "fcr_next_at",
    "fcr_prev_queue_at",
    "fcr_next_queue_at",
    "fcr_prev_agent_at",
    "fcr_next_agent_at",
)
COUNTS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned_3",
    "short_abandoned_5",
    "short_abandoned_10",
    "transferred",
)
TOTALS = ("answer_wait", "queue_wait", "hold", "talk", "acw", "handle")
FCR_COUNTS = (
    "fcr_first",
    "fcr_alone",
    "fcr_first_queue",
    "fcr_alone_queue",
    "fcr_first_agent",
    "fcr_alone_agent",
)


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("fcr_key", sa.String(length=100), nullable=True))
        for name in FCR_COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    op.create_index("ix_calls_tenant_fcr_key", "calls", ["tenant_id", "fcr_key", "queued_at"])
    totals: list[sa.Column[Any]] = []
    for name in TOTALS:
        totals += [
            sa.Column(name, sa.Float(), nullable=True),
            sa.Column(f"{name}_n", sa.Integer(), nullable=False),
        ]
    op.create_table(
        "call_hours",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        *totals,
        sa.Column("longest_wait", sa.Float(), nullable=True),
        *(sa.Column(f"within_{band}", sa.Integer(), nullable=False) for band in SL_BANDS),
        sa.Column("resolved_marks", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in FCR_COUNTS),
        sa.PrimaryKeyConstraint(
            "tenant_id", "hour", "direction", "queue", "agent", name=op.f("pk_call_hours")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":  # the reports' covering index (0002)
        op.drop_index("ix_calls_tenant_queued_report", table_name="calls")
        op.create_index(
            "ix_calls_tenant_queued_report",
            "calls",
            ["tenant_id", "queued_at"],
            postgresql_include=[*REPORT_COLUMNS, "direction", "fcr_key", *FCR_COLUMNS],
        )
    # the chains and hours are filled from the calls by 0007 (`rollup.rebuild_sync`), with
    # the columns the current models read


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_calls_tenant_queued_report", table_name="calls")
        op.create_index(
            "ix_calls_tenant_queued_report",
            "calls",
            ["tenant_id", "queued_at"],
            postgresql_include=REPORT_COLUMNS,
        )
    op.drop_table("call_hours")
    op.drop_index("ix_calls_tenant_fcr_key", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        for name in ("fcr_key", *FCR_COLUMNS):
            batch.drop_column(name)
