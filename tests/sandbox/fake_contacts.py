"""A minimal in-memory ``contacts`` resource, enough for the toolkit's contacts example. The real
one (database-backed, with search and groups) belongs to the engine."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run

_ADDRESS_FIELDS = {
    "sms": "msisdn",
    "ussd": "msisdn",
    "gtalk": "gtalk_id",
    "twitter": "twitter_handle",
}


def flatten(contact: dict[str, Any]) -> dict[str, Any]:
    """Contacts go over the wire with extras and subscriptions flattened, as Vumi Go sent them
    (``extras-<name>``, ``subscription-<name>``); the toolkit regroups them."""
    flat = {k: v for k, v in contact.items() if k not in ("extra", "subscription")}
    flat.update({f"extras-{k}": v for k, v in contact.get("extra", {}).items()})
    flat.update({f"subscription-{k}": v for k, v in contact.get("subscription", {}).items()})
    return flat


class FakeContactsResource(Resource):
    name = "contacts"

    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}  # key -> nested contact

    def add(self, account: str, **fields: Any) -> dict[str, Any]:
        contact = {
            "key": uuid.uuid4().hex,
            "user_account": account,
            "msisdn": "unknown",
            "extra": {},
            "subscription": {},
            "groups": [],
            **fields,
        }
        self.contacts[contact["key"]] = contact
        return contact

    def find(self, account: str, field: str, addr: str) -> dict[str, Any] | None:
        for contact in self.contacts.values():
            if contact["user_account"] == account and contact.get(field) == addr:
                return contact
        return None

    def _lookup(self, request: Request, run: Run) -> tuple[str, str, dict[str, Any] | None]:
        addr = request.get("addr")
        field = _ADDRESS_FIELDS.get(request.get("delivery_class") or "ussd")
        if not isinstance(addr, str) or field is None:
            raise ResourceError("Invalid addr or delivery_class")
        return field, addr, self.find(run.account_key, field, addr)

    @command("Get a contact by address.", request={"addr": "", "delivery_class": ""})
    async def get(self, request: Request, run: Run) -> Reply:
        _, _, contact = self._lookup(request, run)
        if contact is None:
            raise ResourceError("Contact not found")
        return {"contact": flatten(contact)}

    @command("Get or create a contact by address.", request={"addr": "", "delivery_class": ""})
    async def get_or_create(self, request: Request, run: Run) -> Reply:
        field, addr, contact = self._lookup(request, run)
        created = contact is None
        if contact is None:
            contact = self.add(run.account_key, **{field: addr})
        return {"contact": flatten(contact), "created": created}

    @command("Get a contact by key.", request={"key": ""})
    async def get_by_key(self, request: Request, run: Run) -> Reply:
        contact = self.contacts.get(str(request.get("key")))
        if contact is None or contact["user_account"] != run.account_key:
            raise ResourceError("Contact not found")
        return {"contact": flatten(contact)}

    @command("Replace a whole contact.", request={"contact": "nested contact"})
    async def save(self, request: Request, run: Run) -> Reply:
        contact = copy.deepcopy(request.get("contact"))
        if not isinstance(contact, dict) or contact.get("key") not in self.contacts:
            raise ResourceError("Contact not found")
        if self.contacts[contact["key"]]["user_account"] != run.account_key:
            raise ResourceError("Contact not found")
        contact["user_account"] = run.account_key
        self.contacts[contact["key"]] = contact
        return {"contact": flatten(contact)}
