"""http api: push deliveries, stream items, metric points

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:13:35.530944
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vumigo.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_points",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("aggregator", sa.String(length=8), nullable=False),
        sa.Column("timestamp", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_metric_points_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_points")),
    )
    with op.batch_alter_table("metric_points", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_points_series", ["account_key", "store", "name", "timestamp"], unique=False
        )

    op.create_table(
        "http_api_push_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("conversation_key", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_http_api_push_deliveries_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_key"],
            ["conversations.key"],
            name=op.f("fk_http_api_push_deliveries_conversation_key_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_http_api_push_deliveries")),
        sa.UniqueConstraint(
            "conversation_key",
            "kind",
            "item_id",
            name=op.f("uq_http_api_push_deliveries_conversation_key"),
        ),
    )
    with op.batch_alter_table("http_api_push_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_http_api_push_deliveries_account", ["account_key", "status"], unique=False
        )
        batch_op.create_index(
            "ix_http_api_push_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_http_api_push_deliveries_listing", ["conversation_key", "id"], unique=False
        )

    op.create_table(
        "http_api_stream_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("conversation_key", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_key"],
            ["conversations.key"],
            name=op.f("fk_http_api_stream_items_conversation_key_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_http_api_stream_items")),
    )
    with op.batch_alter_table("http_api_stream_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_http_api_stream_items_queue", ["conversation_key", "kind", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("http_api_stream_items", schema=None) as batch_op:
        batch_op.drop_index("ix_http_api_stream_items_queue")

    op.drop_table("http_api_stream_items")
    with op.batch_alter_table("http_api_push_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_http_api_push_deliveries_listing")
        batch_op.drop_index("ix_http_api_push_deliveries_due")
        batch_op.drop_index("ix_http_api_push_deliveries_account")

    op.drop_table("http_api_push_deliveries")
    with op.batch_alter_table("metric_points", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_points_series")

    op.drop_table("metric_points")
