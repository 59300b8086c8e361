"""distributed: the HTTP API's per-process open-request counts, and the hand-over of USSD
replies between processes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vumigo.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "http_api_slots",
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("seen_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_key", "holder", name=op.f("pk_http_api_slots")),
    )
    with op.batch_alter_table("ussd_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_for", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reply_for", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reply", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("reply_close", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "ix_ussd_sessions_waiting", ["transport", "waiting_for"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ussd_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_ussd_sessions_waiting")
        batch_op.drop_column("reply_close")
        batch_op.drop_column("reply")
        batch_op.drop_column("reply_for")
        batch_op.drop_column("waiting_for")
    op.drop_table("http_api_slots")
