"""contacts, groups, group members, extras/subscription index, conversation groups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:02:00.530886
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import vumigo.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ADDRESS_FIELDS = (
    "msisdn",
    "twitter_handle",
    "facebook_id",
    "bbm_pin",
    "gtalk_id",
    "mxit_id",
    "wechat_id",
)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "contact_groups",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_contact_groups_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_contact_groups")),
    )
    with op.batch_alter_table("contact_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_groups_account_key"), ["account_key"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("surname", sa.String(length=255), nullable=True),
        sa.Column("email_address", sa.String(length=255), nullable=True),
        sa.Column("dob", sa.String(length=64), nullable=True),
        *(sa.Column(field, sa.String(length=255), nullable=True) for field in ADDRESS_FIELDS),
        sa.Column("extra", _json(), nullable=False),
        sa.Column("subscription", _json(), nullable=False),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_contacts_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        for field in ADDRESS_FIELDS:
            batch_op.create_index(
                f"ix_contacts_account_{field}",
                ["account_key", field, "created_at"],
                unique=False,
                sqlite_where=sa.text(f"{field} IS NOT NULL"),
                postgresql_where=sa.text(f"{field} IS NOT NULL"),
            )
        batch_op.create_index("ix_contacts_account_key", ["account_key", "key"], unique=False)
        batch_op.create_index("ix_contacts_account_name", ["account_key", "name"], unique=False)

    op.create_table(
        "contact_fields",
        sa.Column("contact_key", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_key"],
            ["contacts.key"],
            name=op.f("fk_contact_fields_contact_key_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_key", "kind", "name", name=op.f("pk_contact_fields")),
    )
    with op.batch_alter_table("contact_fields", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_fields_lookup", ["account_key", "kind", "name", "value"], unique=False
        )

    op.create_table(
        "contact_group_members",
        sa.Column("group_key", sa.String(length=32), nullable=False),
        sa.Column("contact_key", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_key"],
            ["contacts.key"],
            name=op.f("fk_contact_group_members_contact_key_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_key"],
            ["contact_groups.key"],
            name=op.f("fk_contact_group_members_group_key_contact_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_key", "contact_key", name=op.f("pk_contact_group_members")),
    )
    with op.batch_alter_table("contact_group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_group_members_contact_key"), ["contact_key"], unique=False
        )

    op.create_table(
        "conversation_groups",
        sa.Column("conversation_key", sa.String(length=32), nullable=False),
        sa.Column("group_key", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_key"],
            ["conversations.key"],
            name=op.f("fk_conversation_groups_conversation_key_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_key"],
            ["contact_groups.key"],
            name=op.f("fk_conversation_groups_group_key_contact_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "conversation_key", "group_key", name=op.f("pk_conversation_groups")
        ),
    )
    with op.batch_alter_table("conversation_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_groups_group_key"), ["group_key"], unique=False
        )


def downgrade() -> None:
    op.drop_table("conversation_groups")
    op.drop_table("contact_group_members")
    op.drop_table("contact_fields")
    op.drop_table("contacts")
    op.drop_table("contact_groups")
