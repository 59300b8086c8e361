"""The ``contacts`` resource: the account's contacts, as Vumi Go's sandbox offered them.

Every command works within the run's account; a key from another account is "Contact not
found", exactly as an unknown key is.

**A contact on the wire** (``contact`` in replies) is a flat object, as Vumi Go sent it and as
vumigo_v02's ``Contact`` model regroups it::

    {"key": "0190...", "user_account": "<account key>", "created_at": "2024-01-31 12:00:00.000000",
     "name": "Luke", "surname": null, "email_address": null, "dob": null,
     "msisdn": "+27831234567", "twitter_handle": null, "facebook_id": null, "bbm_pin": null,
     "gtalk_id": null, "mxit_id": null, "wechat_id": null,
     "groups": ["<group key>", ...],
     "extras-<name>": "<value>", ..., "subscription-<campaign>": "<value>", ...}

``msisdn`` is ``"unknown"`` when the contact has none (the toolkit refuses a contact without an
msisdn string, and Vumi Go stored "unknown" for contacts made from other addresses).

**A contact sent by the app** (``contact`` of ``new``/``save``, ``fields`` of ``update``) may
carry ``extra`` and ``subscription`` as nested objects (the toolkit sends them so), as flat
``extras-<name>``/``subscription-<name>`` fields, or both. ``key``, ``user_account``,
``created_at`` and ``$VERSION`` are ignored, as are unknown fields. Extra and subscription
values must be strings; ``groups`` is a list of the account's group keys.

**Delivery classes** map an address to a contact field: ``sms``, ``ussd`` and ``voice`` to
``msisdn``; ``gtalk`` to ``gtalk_id``; ``twitter`` to ``twitter_handle``; ``mxit`` and
``wechat`` to theirs. ``delivery_class`` defaults to ``ussd``, the toolkit's default. MSISDNs
of bare digits are looked up with a leading ``+``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.dbutil import dialect_of
from vumigo.contacts.fields import DEFAULT_DELIVERY_CLASS, TEXT_FIELDS
from vumigo.contacts.query_sql import contact_condition
from vumigo.contacts.service import create_contact as service_create
from vumigo.contacts.service import (
    find_by_address,
    find_contact,
    get_or_create_by_address,
    groups_of,
    update_contact,
)
from vumigo.db.engine import Database
from vumigo.db.models.contacts import Contact
from vumigo.errors import VumigoError
from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run

CONTACT_NOT_FOUND = "Contact not found"
UNKNOWN_MSISDN = "unknown"
WIRE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
EXTRAS_PREFIX = "extras-"
SUBSCRIPTION_PREFIX = "subscription-"
#: Keys ``search`` returns unless the request asks for fewer (or more, up to the maximum).
DEFAULT_SEARCH_KEYS = 1000
MAX_SEARCH_KEYS = 10_000

_ADDR_ERROR = "'addr' needs to be specified and be a string"
_DELIVERY_ERROR = "'delivery_class' needs to be a string"
_KEY_ERROR = "'key' needs to be specified and be a string"
_FIELDS_ERROR = "'fields' needs to be specified and be an object of field name-value pairs"
_CONTACT_ERROR = "'contact' needs to be specified and be an object of field name-value pairs"


def contact_data(contact: Contact, groups: list[str]) -> dict[str, Any]:
    """A contact as apps see it: flat, with ``extras-`` and ``subscription-`` fields."""
    data: dict[str, Any] = {
        "key": contact.key,
        "user_account": contact.account_key,
        "created_at": contact.created_at.strftime(WIRE_TIME_FORMAT),
    }
    for name in TEXT_FIELDS:
        data[name] = getattr(contact, name)
    if data["msisdn"] is None:
        data["msisdn"] = UNKNOWN_MSISDN
    data["groups"] = groups
    data.update({f"{EXTRAS_PREFIX}{k}": v for k, v in (contact.extra or {}).items()})
    data.update({f"{SUBSCRIPTION_PREFIX}{k}": v for k, v in (contact.subscription or {}).items()})
    return data


def incoming_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The writable fields of contact data from an app, with extras and subscriptions gathered
    into ``extra``/``subscription`` (only present when the app sent some)."""
    fields: dict[str, Any] = {}
    maps: dict[str, dict[str, Any]] = {}
    for name in ("extra", "subscription"):
        nested = data.get(name)
        if nested is not None:
            if not isinstance(nested, Mapping):
                raise ResourceError(f"'{name}' must be an object of strings")
            maps[name] = dict(nested)
    for name, value in data.items():
        if name.startswith(EXTRAS_PREFIX):
            maps.setdefault("extra", {})[name[len(EXTRAS_PREFIX) :]] = value
        elif name.startswith(SUBSCRIPTION_PREFIX):
            maps.setdefault("subscription", {})[name[len(SUBSCRIPTION_PREFIX) :]] = value
        elif name in TEXT_FIELDS or name == "groups":
            fields[name] = value
    fields.update(maps)
    return fields


def _string(request: Request, field: str, reason: str) -> str:
    value = request.get(field)
    if not isinstance(value, str):
        raise ResourceError(reason)
    return value


def _delivery_class(request: Request) -> str:
    value = request.get("delivery_class")
    if value is None:
        return DEFAULT_DELIVERY_CLASS
    if not isinstance(value, str):
        raise ResourceError(_DELIVERY_ERROR)
    return value


def _mapping(request: Request, field: str, reason: str) -> Mapping[str, Any]:
    value = request.get(field)
    if not isinstance(value, Mapping):
        raise ResourceError(reason)
    return value


class ContactsResource(Resource):
    """Look up, create, change and search the account's contacts."""

    name = "contacts"
    limits = {
        "search results": f"{DEFAULT_SEARCH_KEYS} keys unless max_keys asks for another number, "
        f"at most {MAX_SEARCH_KEYS}",
    }

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _reply(self, session: AsyncSession, contact: Contact, **extra: Any) -> Reply:
        groups = (await groups_of(session, [contact.key]))[contact.key]
        return {"contact": contact_data(contact, groups), **extra}

    async def _existing(self, session: AsyncSession, run: Run, key: str) -> Contact:
        contact = await find_contact(session, run.account_key, key)
        if contact is None:
            raise ResourceError(CONTACT_NOT_FOUND)
        return contact

    async def _change(self, run: Run, key: str, changes: dict[str, Any]) -> Reply:
        try:
            async with self.db.transaction() as session:
                stored = await self._existing(session, run, key)
                if changes.get("msisdn") == UNKNOWN_MSISDN and stored.msisdn is None:
                    # "unknown" is how a missing MSISDN is shown; sent back, it stays missing.
                    changes = {**changes, "msisdn": None}
                contact = await update_contact(session, run.account_key, key, changes)
                return await self._reply(session, contact)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None

    @command(
        "Get the contact with an address.",
        request={
            "addr": "string: the address, e.g. '+27831234567'",
            "delivery_class": "string: which kind of address (sms, ussd, gtalk, twitter, ...); "
            "default ussd",
        },
        reply={"contact": "the contact (see 'A contact on the wire' above)"},
        errors=(_ADDR_ERROR, _DELIVERY_ERROR, "Unknown delivery class ...", CONTACT_NOT_FOUND),
    )
    async def get(self, request: Request, run: Run) -> Reply:
        addr = _string(request, "addr", _ADDR_ERROR)
        delivery_class = _delivery_class(request)
        try:
            async with self.db.sessions() as session:
                contact = await find_by_address(session, run.account_key, delivery_class, addr)
                if contact is None:
                    raise ResourceError(CONTACT_NOT_FOUND)
                return await self._reply(session, contact)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None

    @command(
        "Get the contact with an address, making one (with just that address) if none has it.",
        request={
            "addr": "string: the address",
            "delivery_class": "string: which kind of address; default ussd",
        },
        reply={"contact": "the contact", "created": "boolean: whether it was made now"},
        errors=(_ADDR_ERROR, _DELIVERY_ERROR, "Unknown delivery class ..."),
    )
    async def get_or_create(self, request: Request, run: Run) -> Reply:
        addr = _string(request, "addr", _ADDR_ERROR)
        delivery_class = _delivery_class(request)
        try:
            async with self.db.transaction() as session:
                contact, created = await get_or_create_by_address(
                    session, run.account_key, delivery_class, addr
                )
                return await self._reply(session, contact, created=created)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None

    @command(
        "Get a contact by its key.",
        request={"key": "string: the contact's key"},
        reply={"contact": "the contact"},
        errors=(_KEY_ERROR, CONTACT_NOT_FOUND),
    )
    async def get_by_key(self, request: Request, run: Run) -> Reply:
        key = _string(request, "key", _KEY_ERROR)
        async with self.db.sessions() as session:
            contact = await self._existing(session, run, key)
            return await self._reply(session, contact)

    @command(
        "Make a new contact.",
        request={"contact": "object: the new contact's fields (see 'A contact sent by the app')"},
        reply={"contact": "the new contact, with its key"},
        errors=(_CONTACT_ERROR, "<invalid field text>", "Group '<key>' not found."),
    )
    async def new(self, request: Request, run: Run) -> Reply:
        data = incoming_fields(_mapping(request, "contact", _CONTACT_ERROR))
        try:
            async with self.db.transaction() as session:
                contact = await service_create(session, run.account_key, data)
                return await self._reply(session, contact)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None

    @command(
        "Replace a contact: every field not given is cleared, and its extras, subscriptions and "
        "groups become exactly those given.",
        request={"contact": "object: the whole contact, with its 'key'"},
        reply={"contact": "the saved contact"},
        errors=(
            _CONTACT_ERROR,
            "'key' needs to be specified as a field in 'contact' and be a string",
            CONTACT_NOT_FOUND,
            "<invalid field text>",
            "Group '<key>' not found.",
        ),
    )
    async def save(self, request: Request, run: Run) -> Reply:
        given = _mapping(request, "contact", _CONTACT_ERROR)
        key = given.get("key")
        if not isinstance(key, str):
            raise ResourceError(
                "'key' needs to be specified as a field in 'contact' and be a string"
            )
        fields = incoming_fields(given)
        whole: dict[str, Any] = {name: fields.get(name) for name in TEXT_FIELDS}
        whole["extra"] = fields.get("extra") or {}
        whole["subscription"] = fields.get("subscription") or {}
        whole["groups"] = fields.get("groups") or []
        return await self._change(run, key, whole)

    @command(
        "Change some fields of a contact. 'extra' or 'subscription', when given, replace the "
        "whole map; use update_extras/update_subscriptions to change single entries.",
        request={"key": "string: the contact's key", "fields": "object: the fields to change"},
        reply={"contact": "the changed contact"},
        errors=(_KEY_ERROR, _FIELDS_ERROR, CONTACT_NOT_FOUND, "<invalid field text>"),
    )
    async def update(self, request: Request, run: Run) -> Reply:
        key = _string(request, "key", _KEY_ERROR)
        fields = incoming_fields(_mapping(request, "fields", _FIELDS_ERROR))
        return await self._change(run, key, fields)

    async def _update_map(self, attr: str, request: Request, run: Run) -> Reply:
        key = _string(request, "key", _KEY_ERROR)
        fields = _mapping(request, "fields", _FIELDS_ERROR)
        if not all(isinstance(v, str) for v in fields.values()):
            raise ResourceError("All field values need to be strings")
        try:
            async with self.db.transaction() as session:
                contact = await self._existing(session, run, key)
                merged = {**(getattr(contact, attr) or {}), **fields}
                contact = await update_contact(session, run.account_key, key, {attr: merged})
                return await self._reply(session, contact)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None

    @command(
        "Set some entries of a contact's extras, keeping the others.",
        request={"key": "string: the contact's key", "fields": "object: name to string value"},
        reply={"contact": "the changed contact"},
        errors=(
            _KEY_ERROR,
            _FIELDS_ERROR,
            "All field values need to be strings",
            CONTACT_NOT_FOUND,
        ),
    )
    async def update_extras(self, request: Request, run: Run) -> Reply:
        return await self._update_map("extra", request, run)

    @command(
        "Set some entries of a contact's subscriptions, keeping the others.",
        request={"key": "string: the contact's key", "fields": "object: campaign to string value"},
        reply={"contact": "the changed contact"},
        errors=(
            _KEY_ERROR,
            _FIELDS_ERROR,
            "All field values need to be strings",
            CONTACT_NOT_FOUND,
        ),
    )
    async def update_subscriptions(self, request: Request, run: Run) -> Reply:
        return await self._update_map("subscription", request, run)

    @command(
        "Find contacts with a Lucene query (e.g. 'name:\"Moog\"', 'extras-city:CPT').",
        request={
            "query": "string: the query",
            "max_keys": f"integer: most keys to return, default {DEFAULT_SEARCH_KEYS}, at most "
            f"{MAX_SEARCH_KEYS}",
        },
        reply={"keys": "list of the matching contacts' keys, in key order"},
        errors=(
            "'query' needs to be a string",
            "max_keys must be a positive integer",
            "<why the query is invalid>",
        ),
    )
    async def search(self, request: Request, run: Run) -> Reply:
        query = _string(request, "query", "'query' needs to be a string")
        limit = request.get("max_keys", DEFAULT_SEARCH_KEYS)
        if limit is None:
            limit = DEFAULT_SEARCH_KEYS
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ResourceError("max_keys must be a positive integer")
        try:
            async with self.db.sessions() as session:
                condition = contact_condition(query, run.account_key, dialect_of(session))
                stmt = (
                    select(Contact.key)
                    .where(Contact.account_key == run.account_key, condition)
                    .order_by(Contact.key)
                    .limit(min(limit, MAX_SEARCH_KEYS))
                )
                keys = list((await session.scalars(stmt)).all())
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None
        return {"keys": keys}
