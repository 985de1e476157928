"""Reply suggestions: what was suggested for a member's text, and when it was taken.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggestion", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("suggestion_taken_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("suggestion_taken_at")
        batch_op.drop_column("suggestion")
