"""foundation: accounts, channels, conversations, routing

Revision ID: 0001
Revises:
Create Date: 2026-11-28 03:56:43.795055
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import vumigo.db.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("disable_optouts", sa.Boolean(), nullable=False),
        sa.Column("can_manage_optouts", sa.Boolean(), nullable=False),
        sa.Column("is_developer", sa.Boolean(), nullable=False),
        sa.Column("msisdn", sa.String(length=64), nullable=True),
        sa.Column("confirm_start_conversation", sa.Boolean(), nullable=False),
        sa.Column("email_summary", sa.String(length=16), nullable=False),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_accounts")),
    )
    op.create_table(
        "tagpools",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column(
            "meta",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tagpools")),
    )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_account_tokens_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_tokens_account_key"), ["account_key"], unique=False
        )

    op.create_table(
        "app_permissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("app_type", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_app_permissions_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_permissions")),
        sa.UniqueConstraint("account_key", "app_type", name=op.f("uq_app_permissions_account_key")),
    )
    op.create_table(
        "conversations",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("conversation_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "extra_endpoints",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("archived_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_conversations_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_account_key"), ["account_key"], unique=False
        )

    op.create_table(
        "routers",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("router_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "extra_inbound_endpoints",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "extra_outbound_endpoints",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("archived_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_routers_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_routers")),
    )
    with op.batch_alter_table("routers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routers_account_key"), ["account_key"], unique=False)

    op.create_table(
        "routing_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("source_connector", sa.String(length=255), nullable=False),
        sa.Column("source_endpoint", sa.String(length=128), nullable=False),
        sa.Column("target_connector", sa.String(length=255), nullable=False),
        sa.Column("target_endpoint", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_routing_entries_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_entries")),
        sa.UniqueConstraint(
            "account_key",
            "source_connector",
            "source_endpoint",
            name=op.f("uq_routing_entries_account_key"),
        ),
    )
    with op.batch_alter_table("routing_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_entries_account_key"), ["account_key"], unique=False
        )

    op.create_table(
        "tagpool_permissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("pool", sa.String(length=128), nullable=False),
        sa.Column("max_keys", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_tagpool_permissions_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pool"],
            ["tagpools.name"],
            name=op.f("fk_tagpool_permissions_pool_tagpools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tagpool_permissions")),
        sa.UniqueConstraint("account_key", "pool", name=op.f("uq_tagpool_permissions_account_key")),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pool", sa.String(length=128), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=True),
        sa.Column("acquired_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner"], ["accounts.key"], name=op.f("fk_tags_owner_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pool"], ["tagpools.name"], name=op.f("fk_tags_pool_tagpools"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("pool", "tag", name=op.f("uq_tags_pool")),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tags_owner"), ["owner"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("surname", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_users_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )


def downgrade() -> None:

    op.drop_table("users")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tags_owner"))

    op.drop_table("tags")
    op.drop_table("tagpool_permissions")
    with op.batch_alter_table("routing_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_entries_account_key"))

    op.drop_table("routing_entries")
    with op.batch_alter_table("routers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routers_account_key"))

    op.drop_table("routers")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_account_key"))

    op.drop_table("conversations")
    op.drop_table("app_permissions")
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_tokens_account_key"))

    op.drop_table("account_tokens")
    op.drop_table("tagpools")
    op.drop_table("accounts")
