"""Sweeps: nudge and escalation marks, follow-up rounds, sweep leases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:25:37.242877
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "sweep_leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sweep_leases")),
    )
    op.create_table(
        "followup_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_followup_rounds_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_rounds")),
        sa.UniqueConstraint("campaign_id", "round", name=op.f("uq_followup_rounds_campaign_id")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("followup_round", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("followup_script", sa.String(length=64), nullable=True))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("slack_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue_nudged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("slack_users", schema=None) as batch_op:
        batch_op.drop_column("queue_nudged_at")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("nudged_at")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("followup_script")
        batch_op.drop_column("followup_round")

    op.drop_table("followup_rounds")
    op.drop_table("sweep_leases")
