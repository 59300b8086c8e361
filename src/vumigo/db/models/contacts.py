"""Contacts, contact groups (static and smart), their members and conversations' groups.

Addresses are not unique within an account (the original allowed duplicates, and lookups take
the newest), so each address column has a plain (account, address, created_at) index that serves
both lookups and the newest-wins ordering.

``extra`` and ``subscription`` are kept whole as JSON on the contact (what the APIs return) and
also as one ``contact_fields`` row per key, so ``extras-city:CPT``-style queries are an indexed
lookup instead of a JSON scan; the contacts service keeps the two in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, new_key, utcnow

# Contact columns that hold an address, in the order the APIs list them.
ADDRESS_FIELDS = (
    "msisdn",
    "twitter_handle",
    "facebook_id",
    "bbm_pin",
    "gtalk_id",
    "mxit_id",
    "wechat_id",
)

# Text columns that are not addresses.
PERSON_FIELDS = ("name", "surname", "email_address", "dob")


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        # Partial: most contacts have one or two addresses, and an index that skips the NULLs
        # costs an import nothing for the other fields. ``field = x`` implies NOT NULL, so
        # lookups still use them on both databases.
        *(
            Index(
                f"ix_contacts_account_{field}",
                "account_key",
                field,
                "created_at",
                sqlite_where=text(f"{field} IS NOT NULL"),
                postgresql_where=text(f"{field} IS NOT NULL"),
            )
            for field in ADDRESS_FIELDS
        ),
        Index("ix_contacts_account_name", "account_key", "name"),
        # Paging through an account's contacts in key order.
        Index("ix_contacts_account_key", "account_key", "key"),
    )

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_key)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    surname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    email_address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Kept as the text given: the original stored whatever the import or API supplied.
    dob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    msisdn: Mapped[str | None] = mapped_column(String(255), nullable=True)
    twitter_handle: Mapped[str | None] = mapped_column(String(255), nullable=True)
    facebook_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    bbm_pin: Mapped[str | None] = mapped_column(String(255), nullable=True)
    gtalk_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    mxit_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    wechat_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    subscription: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactField(Base):
    """One ``extra`` or ``subscription`` entry of a contact, mirrored for indexed queries.

    ``account_key`` is repeated here so a query can go straight to one account's rows.
    """

    __tablename__ = "contact_fields"
    # Covering: a search by a field (extras-city:CPT) finds its contacts in the index alone.
    __table_args__ = (
        Index("ix_contact_fields_lookup", "account_key", "kind", "name", "value", "contact_key"),
    )

    contact_key: Mapped[str] = mapped_column(
        ForeignKey("contacts.key", ondelete="CASCADE"), primary_key=True
    )
    # "extras" or "subscription", as the query prefixes spell them.
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_key: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)


class ContactGroup(Base):
    """A group of contacts; a non-null ``query`` (Lucene syntax) makes it a smart group."""

    __tablename__ = "contact_groups"

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_key)
    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    query: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupMember(Base):
    """A contact placed in a group by hand or by an import (smart groups are evaluated live)."""

    __tablename__ = "contact_group_members"

    group_key: Mapped[str] = mapped_column(
        ForeignKey("contact_groups.key", ondelete="CASCADE"), primary_key=True
    )
    contact_key: Mapped[str] = mapped_column(
        ForeignKey("contacts.key", ondelete="CASCADE"), primary_key=True, index=True
    )


class ConversationGroup(Base):
    """A group a conversation sends to; its recipients are the union of these groups."""

    __tablename__ = "conversation_groups"

    conversation_key: Mapped[str] = mapped_column(
        ForeignKey("conversations.key", ondelete="CASCADE"), primary_key=True
    )
    group_key: Mapped[str] = mapped_column(
        ForeignKey("contact_groups.key", ondelete="CASCADE"), primary_key=True, index=True
    )
