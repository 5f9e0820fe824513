"""covering indexes for the historical KPI reports

The reports (`cti.store.kpi_queries`) read a tenant's calls (of every queue, or one)
over a range of queue-entry times, and the agent state intervals that start before the range ends.
With these indexes PostgreSQL answers both from the index alone (index-only scans)
instead of visiting the table rows: on a year of 1,000,000 calls (bench/reports.py)
a year's per-queue statistics took about half the time. On SQLite, which has no
INCLUDE, the agent state index lists the same columns as keys, and the calls index is
left out (its width would double the table for little gain there).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CALL_COLUMNS = [
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_calls_tenant_queued_report",
            "calls",
            ["tenant_id", "queued_at"],
            postgresql_include=CALL_COLUMNS,
        )
        op.create_index(
            "ix_agent_states_tenant_start_report",
            "agent_states",
            ["tenant_id", "start"],
            postgresql_include=["end", "state", "agent_id"],
        )
    else:
        op.create_index(
            "ix_agent_states_tenant_start_report",
            "agent_states",
            ["tenant_id", "start", "end", "state", "agent_id"],
        )


def downgrade() -> None:
    op.drop_index("ix_agent_states_tenant_start_report", table_name="agent_states")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_calls_tenant_queued_report", table_name="calls")
