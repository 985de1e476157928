"""Practice mode: practice campaigns, and what simulated phones do.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("practice", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("practice_of", sa.String(length=64), nullable=True))
    op.create_table(
        "simulated_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulated_events")),
        sa.UniqueConstraint("kind", "sid", "status", name=op.f("uq_simulated_events_kind")),
    )
    op.create_index(
        "ix_simulated_events_due", "simulated_events", ["done_at", "due_at"], unique=False
    )
    op.create_index(op.f("ix_simulated_events_phone"), "simulated_events", ["phone"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_simulated_events_phone"), table_name="simulated_events")
    op.drop_index("ix_simulated_events_due", table_name="simulated_events")
    op.drop_table("simulated_events")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("practice_of")
        batch_op.drop_column("practice")
