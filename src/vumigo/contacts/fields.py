"""What a contact may hold, delivery classes, and checking contact data from outside.

Everything that arrives from an API, an import or the CLI passes ``clean_contact_data`` first,
so the database never sees a value it would refuse (PostgreSQL rejects over-long strings and
NUL characters with an error that would otherwise surface as a 500).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vumigo.db.models.contacts import ADDRESS_FIELDS, PERSON_FIELDS
from vumigo.errors import InvalidInput
from vumigo.text import storable

# Delivery class → the contact field holding that kind of address (as the original).
DELIVERY_CLASSES: dict[str, str] = {
    "sms": "msisdn",
    "ussd": "msisdn",
    "voice": "msisdn",
    "gtalk": "gtalk_id",
    "mxit": "mxit_id",
    "wechat": "wechat_id",
    "twitter": "twitter_handle",
}
DEFAULT_DELIVERY_CLASS = "ussd"

TEXT_FIELDS = (*PERSON_FIELDS, *ADDRESS_FIELDS)
MAP_FIELDS = ("extra", "subscription")
# Fields a client may write: every model field except the key and the owning account.
WRITABLE_FIELDS = frozenset((*TEXT_FIELDS, *MAP_FIELDS, "groups", "created_at"))
# Echoed back by clients that PUT a contact they fetched; harmless, so ignored.
IGNORED_FIELDS = frozenset(("$VERSION",))

MAX_LENGTH = {"dob": 64}
DEFAULT_MAX_LENGTH = 255
MAX_MAP_KEY = 255
# Map values are indexed on PostgreSQL, whose b-tree entries must stay under ~2.7 kB.
MAX_MAP_VALUE = 500
MAX_MAP_ENTRIES = 200
MAX_GROUPS = 1000
CREATED_AT_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def address_field(delivery_class: str) -> str:
    """The contact field for a delivery class; raises InvalidInput for an unknown class."""
    try:
        return DELIVERY_CLASSES[delivery_class]
    except KeyError:
        known = ", ".join(sorted(DELIVERY_CLASSES))
        raise InvalidInput(
            f"Unknown delivery class {delivery_class!r}; use one of: {known}"
        ) from None


def delivery_class_for_transport(transport_type: str) -> str:
    """The delivery class of a transport type: XMPP is gtalk, the rest are named alike."""
    return "gtalk" if transport_type == "xmpp" else transport_type


def normalise_address(field: str, address: str) -> str:
    """The stored form of an address for lookups.

    A gtalk address loses its ``/resource`` suffix; an MSISDN of bare digits gains the leading
    ``+`` (the contacts API's lookups did this, and stored MSISDNs are E.164).
    """
    address = address.strip()
    if field == "gtalk_id":
        return address.split("/", 1)[0]
    if field == "msisdn" and address.isdigit():
        return f"+{address}"
    return address


def check_text(name: str, value: object, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"Field '{name}' must be a string.")
    if len(value) > max_length:
        raise InvalidInput(f"Field '{name}' is too long (at most {max_length} characters).")
    if not storable(value):
        raise InvalidInput(f"Field '{name}' contains a NUL character or invalid Unicode.")
    return value


def clean_map(name: str, value: object) -> dict[str, str]:
    """A {str: str} map such as ``extra``; the original coerced nothing, so neither do we."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"Field '{name}' must be an object of strings.")
    if len(value) > MAX_MAP_ENTRIES:
        raise InvalidInput(f"Field '{name}' has too many entries (at most {MAX_MAP_ENTRIES}).")
    cleaned: dict[str, str] = {}
    for key, item in value.items():
        check_text(f"{name} key", key, MAX_MAP_KEY)
        if not key:
            raise InvalidInput(f"Field '{name}' has an empty key.")
        cleaned[key] = check_text(f"{name}.{key}", item, MAX_MAP_VALUE)
    return cleaned


def parse_created_at(value: object) -> datetime:
    text = check_text("created_at", value, 64)
    for fmt in (CREATED_AT_FORMAT, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InvalidInput(f"Field 'created_at' must look like 2015-01-31 12:00:00.000000: {text!r}")


def clean_contact_data(data: object, *, kind: str = "contact") -> dict[str, Any]:
    """Checks contact data from a client; returns it with values in their stored types.

    Text fields may be null (unset). ``groups`` is a list of group keys (checked for existence
    by the service). Unknown fields give "Invalid contact fields: a, b" as the original did.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput(f"The {kind} data must be a JSON object.")
    unknown = sorted(str(k) for k in data if k not in WRITABLE_FIELDS and k not in IGNORED_FIELDS)
    if unknown:
        raise InvalidInput(f"Invalid {kind} fields: {', '.join(unknown)}")
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name in IGNORED_FIELDS:
            continue
        if name in TEXT_FIELDS:
            limit = MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)
            cleaned[name] = None if value is None else check_text(name, value, limit)
        elif name in MAP_FIELDS:
            cleaned[name] = {} if value is None else clean_map(name, value)
        elif name == "groups":
            cleaned[name] = clean_group_keys(value)
        elif name == "created_at":
            cleaned[name] = parse_created_at(value)
    return cleaned


def clean_group_keys(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_GROUPS:
        raise InvalidInput("Field 'groups' must be a list of group keys.")
    keys = [check_text("groups", key, 64) for key in value]
    return list(dict.fromkeys(keys))
