"""callbacks follow their life: the next attempt's time, and a key of their own (`ref`:
the asking call's id for a callback asked for in the queue, a generated one otherwise)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("due_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("ref", sa.String(length=80), nullable=True))
    callbacks = sa.table("callbacks", sa.column("id"), sa.column("ref"))
    op.execute(
        callbacks.update().values(ref=sa.literal("row-") + sa.cast(callbacks.c.id, sa.String))
    )
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("ref", existing_type=sa.String(length=80), nullable=False)
    op.create_index("uq_callbacks_tenant_ref", "callbacks", ["tenant_id", "ref"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_callbacks_tenant_ref", table_name="callbacks")
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("ref")
        batch.drop_column("due_at")
