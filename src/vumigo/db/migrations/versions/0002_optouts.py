"""opt-outs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:57:55.975189
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vumigo.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "optouts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("address_type", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_optouts_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optouts")),
        sa.UniqueConstraint(
            "account_key", "address_type", "address", name=op.f("uq_optouts_account_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("optouts")
