"""Delivery receipts: recognising them, reading their status, and matching their SMSC ids.

A receipt is a deliver_sm whose esm_class says so (0x04 SMSC receipt, 0x08/0x10 SME acks, 0x20
intermediate notification) or whose text has the de-facto form of SMPP 3.4 appendix B:
``id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:``.
The receipted_message_id and message_state TLVs, when present, win over the text.

SMSC ids: many SMSCs answer submit_sm with an id in one base and quote it in the receipt text in
the other (hex "3e8" vs decimal "1000"). Ids are stored under ``store_key`` and looked up under
``lookup_key``; by default both are compared as text, and naming the two bases (as Kannel's
msg-id-type and Jasmin's dlr_msg_id_bases do) makes them compare as numbers. There is no
guessing: reading "49" as hex too would match the receipt to whichever message got id 73.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from .codec import decode_text
from .config import IdBase
from .pdu import ESM_TYPE_MASK, Pdu

DeliveryStatus = Literal["delivered", "failed", "pending"]

_RECEIPT_TYPES: Final = frozenset({0x04, 0x08, 0x10, 0x20})

# The stat: words of appendix B (and common long spellings) and what they mean for a message.
_STAT_STATUS: Final[dict[str, DeliveryStatus]] = {
    "DELIVRD": "delivered",
    "DELIVERED": "delivered",
    "UNDELIV": "failed",
    "UNDELIVERABLE": "failed",
    "EXPIRED": "failed",
    "DELETED": "failed",
    "REJECTD": "failed",
    "REJECTED": "failed",
    "ENROUTE": "pending",
    "ACCEPTD": "pending",
    "ACCEPTED": "pending",
    "UNKNOWN": "pending",
}
# message_state TLV values (SMPP 3.4 §5.2.28) as the matching stat: word.
_MESSAGE_STATES: Final[dict[int, str]] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
    9: "SKIPPED",
}

_FIELD: Final = re.compile(r"\b(id|sub|dlvrd|submit date|done date|stat|err|text)\s*:", re.I)


@dataclass(frozen=True, slots=True)
class Receipt:
    status: DeliveryStatus
    stat: str  # the SMSC's own word, e.g. DELIVRD
    tlv_id: str | None  # receipted_message_id: in the same form as submit_sm_resp's id
    text_id: str | None  # id: from the receipt text
    error_code: str | None = None
    submit_date: str | None = None
    done_date: str | None = None

    @property
    def smsc_id(self) -> str:
        return self.tlv_id or self.text_id or ""


def parse_receipt_text(text: str) -> dict[str, str] | None:
    """The key:value fields of a receipt text, or None when it lacks an id or a stat."""
    matches = list(_FIELD.finditer(text))
    fields: dict[str, str] = {}
    for index, match in enumerate(matches):
        key = match.group(1).lower().replace(" ", "_")
        if key == "text":
            fields["text"] = text[match.end() :].strip()
            break  # the text field is last and may itself contain "id:" and the like
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end() : end].strip())
    if not fields.get("id") or not fields.get("stat"):
        return None
    return fields


def status_of(stat: str) -> DeliveryStatus:
    word = stat.strip().upper()
    if word in _STAT_STATUS:
        return _STAT_STATUS[word]
    # Anything else that names an end state is a failure; unknown words leave it pending.
    return "failed" if word in {"SKIPPED", "FAILED", "ERROR"} else "pending"


def receipt_from_pdu(pdu: Pdu) -> Receipt | None:
    """The receipt a deliver_sm/data_sm carries, or None if it is an ordinary message."""
    flagged = (pdu.number("esm_class") & ESM_TYPE_MASK) in _RECEIPT_TYPES
    raw = pdu.tlv_octets("message_payload") or pdu.octets("short_message")
    # Receipt text is plain ASCII whatever data_coding says; Latin-1 never fails to decode.
    text = decode_text(raw, 0x03) if raw else ""
    fields = parse_receipt_text(text) if text else None
    tlv_id = pdu.tlv_text("receipted_message_id") or None
    state = pdu.tlv_int("message_state")
    if not flagged and fields is None:
        return None
    fields = fields or {}
    stat = _MESSAGE_STATES.get(state, "") if state is not None else ""
    stat = stat or fields.get("stat", "UNKNOWN")
    return Receipt(
        status=status_of(stat),
        stat=stat.upper(),
        tlv_id=tlv_id,
        text_id=fields.get("id") or None,
        error_code=fields.get("err"),
        submit_date=fields.get("submit_date"),
        done_date=fields.get("done_date"),
    )


_DIGITS: Final = {10: re.compile(r"[0-9]+"), 16: re.compile(r"[0-9a-fA-F]+")}
_RADIX: Final = {"hex": 16, "decimal": 10}


def _plain(smsc_id: str) -> str:
    return smsc_id.strip().lower().lstrip("0") or "0"


def _number(smsc_id: str, base: IdBase) -> str | None:
    """The id as a decimal number string, if ``base`` is numeric and the id is written in it."""
    radix = _RADIX.get(base)
    raw = smsc_id.strip()
    # Stricter than int(): no signs, spaces, underscores or 0x prefixes.
    if radix is None or not _DIGITS[radix].fullmatch(raw):
        return None
    return str(int(raw, radix))


def store_key(smsc_id: str, base: IdBase) -> str:
    """The key an id from submit_sm_resp (written in ``base``) is stored under."""
    return _number(smsc_id, base) or _plain(smsc_id)


def lookup_key(smsc_id: str, base: IdBase, submit_base: IdBase) -> str:
    """The key for an id a receipt gives in ``base``, to match ids stored with ``submit_base``.

    Both numeric: compared as numbers, so "3e8" (hex) matches "1000" (decimal). submit_base
    "text": compared as text. Only ``base`` "text": the receipt's id is read in submit_base.
    """
    if submit_base == "text":
        return _plain(smsc_id)
    reading = submit_base if base == "text" else base
    return _number(smsc_id, reading) or _plain(smsc_id)
