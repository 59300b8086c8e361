"""Changes the ready-made apps make to contacts: answers, subscriptions, groups, indexes.

Each change runs inside the unit of work that marks a message handled (an extra write), and it
reads the contact there, in that transaction, so two apps writing different keys of ``extra``
never undo each other. The changes go through the contacts service, which keeps the indexed
copies of ``extra`` and ``subscription`` in step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts import add_to_group, get_or_create_by_address, update_contact
from vumigo.contacts.fields import DELIVERY_CLASSES, delivery_class_for_transport
from vumigo.contacts.service import find_contact
from vumigo.db.models import Contact
from vumigo.errors import VumigoError

log = logging.getLogger(__name__)

MapChange = Callable[[dict[str, str]], dict[str, str]]


def delivery_class_of(transport_type: str | None) -> str:
    """The delivery class of a message's transport type; SMS for types contacts don't know."""
    found = delivery_class_for_transport(transport_type or "sms")
    return found if found in DELIVERY_CLASSES else "sms"


async def contact_for(
    session: AsyncSession, account_key: str, address: str, transport_type: str | None
) -> Contact:
    """The sender's contact, made if there is none (as the original's ``contacts.for_user``)."""
    contact, _made = await get_or_create_by_address(
        session, account_key, delivery_class_of(transport_type), address
    )
    return contact


async def change_contact(
    session: AsyncSession,
    account_key: str,
    contact: Contact | str,
    *,
    extra: MapChange | None = None,
    subscription: MapChange | None = None,
    add_groups: Iterable[str] = (),
) -> bool:
    """Applies the changes to the contact (given or by key); False if they could not be made.

    A change the contacts rules refuse (too many extras, a value too long, a group deleted
    since the poll was written) is logged and skipped rather than raised: raising would fail
    the message's unit of work, and the message would be retried forever for nothing.
    """
    if isinstance(contact, str):
        found = await find_contact(session, account_key, contact)
        if found is None:
            return False
        contact = found
    data: dict[str, dict[str, str]] = {}
    if extra is not None:
        data["extra"] = extra(dict(contact.extra or {}))
    if subscription is not None:
        data["subscription"] = subscription(dict(contact.subscription or {}))
    try:
        if data:
            # A savepoint, so a refused change leaves the rest of the unit intact.
            async with session.begin_nested():
                await update_contact(session, account_key, contact.key, data)
        for group_key in add_groups:
            async with session.begin_nested():
                await add_to_group(session, account_key, group_key, [contact.key])
    except VumigoError as exc:
        log.warning("contact %s not updated: %s", contact.key, exc)
        return False
    return True


def with_answer(store_as: str, value: str) -> MapChange:
    """``extra[store_as] = value`` plus a numbered copy ``<store_as>-<n>`` per answer given, so
    a repeated dialogue keeps its history (the original's convention)."""

    def change(extra: dict[str, str]) -> dict[str, str]:
        prefix = f"{store_as}-"
        earlier = sum(1 for key in extra if key.startswith(prefix) and key[len(prefix) :].isdigit())
        extra[store_as] = value
        extra[f"{prefix}{earlier + 1}"] = value
        return extra

    return change


def with_values(values: dict[str, str]) -> MapChange:
    def change(current: dict[str, str]) -> dict[str, str]:
        current.update(values)
        return current

    return change
