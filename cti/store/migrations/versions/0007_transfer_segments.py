"""transfer segments: a call's row names the call it continues after a transfer, so that
first-call resolution counts the two as one contact (not a repeat)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cti.store.rollup import rebuild_sync
from reports.events import segment_of

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("segment_of", sa.String(64), nullable=True))
    conn = op.get_bind()
    calls = sa.table("calls", sa.column("tenant_id"), sa.column("call_id"), sa.column("segment_of"))
    rows = conn.execute(
        sa.select(calls.c.tenant_id, calls.c.call_id).where(calls.c.call_id.like("%-t%"))
    ).all()
    for tenant, call_id in rows:
        if (base := segment_of(call_id)) is not None:
            conn.execute(
                calls.update()
                .where(calls.c.tenant_id == tenant, calls.c.call_id == call_id)
                .values(segment_of=base)
            )
    rebuild_sync(conn)  # the repeat-contact chains and hourly totals without the segments


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("segment_of")
