"""Sending a campaign: assignments, data-protection agreements, skipped members.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:34:37.585377
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_agreements_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("user_id", "campaign_id", name=op.f("uq_agreements_user_id")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("initial_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("skipped_reason", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_conversations_campaign_id"), ["campaign_id", "member_id"]
        )


def downgrade() -> None:

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_conversations_campaign_id"), type_="unique")
        batch_op.drop_column("skipped_reason")
        batch_op.drop_column("initial_sent_at")
        batch_op.drop_column("assigned_at")

    op.drop_table("agreements")
