"""message store

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28 04:00:14.184683
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vumigo.db.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("user_message_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=48), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("timestamp", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_state", ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_events_user_message_id"), ["user_message_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("from_addr", sa.String(length=255), nullable=False),
        sa.Column("to_addr", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("in_reply_to", sa.String(length=64), nullable=True),
        sa.Column("session_event", sa.String(length=16), nullable=True),
        sa.Column("transport_name", sa.String(length=128), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("timestamp", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_direction_state", ["direction", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_in_reply_to"), ["in_reply_to"], unique=False)

    op.create_table(
        "batches",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=True),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_ref", sa.String(length=255), nullable=False),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_batches_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_batches")),
        sa.UniqueConstraint(
            "owner_kind", "owner_ref", "account_key", name=op.f("uq_batches_owner_kind")
        ),
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batches_account_key"), ["account_key"], unique=False)

    op.create_table(
        "batch_addresses",
        sa.Column("batch_key", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_key"],
            ["batches.key"],
            name=op.f("fk_batch_addresses_batch_key_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "batch_key", "direction", "address", name=op.f("pk_batch_addresses")
        ),
    )
    op.create_table(
        "batch_counters",
        sa.Column("batch_key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_key"],
            ["batches.key"],
            name=op.f("fk_batch_counters_batch_key_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_key", "name", name=op.f("pk_batch_counters")),
    )
    op.create_table(
        "message_batches",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_key", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("timestamp", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_key"],
            ["batches.key"],
            name=op.f("fk_message_batches_batch_key_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_message_batches")),
        sa.UniqueConstraint("batch_key", "message_id", name=op.f("uq_message_batches_batch_key")),
    )
    with op.batch_alter_table("message_batches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_batches_listing", ["batch_key", "direction", "seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_message_batches_listing")

    op.drop_table("message_batches")
    op.drop_table("batch_counters")
    op.drop_table("batch_addresses")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batches_account_key"))

    op.drop_table("batches")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_in_reply_to"))
        batch_op.drop_index("ix_messages_direction_state")

    op.drop_table("messages")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_user_message_id"))
        batch_op.drop_index("ix_events_state")

    op.drop_table("events")
