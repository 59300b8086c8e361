"""Long messages: splitting outgoing text into parts, reassembling incoming parts.

Outgoing text longer than one SMS becomes either UDH parts (concatenation IE 0x00 with an 8-bit
reference, 153 GSM septets or 134 octets each) or a single PDU carrying it all in message_payload,
leaving the split to the SMSC. Incoming parts may carry a UDH with an 8-bit (IE 0x00) or 16-bit
(IE 0x08) reference, or the SAR TLVs instead; parts are matched on source, destination, reference
and count, and kept until complete or too old.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from .codec import chunk_units, part_limit, single_limit, text_units
from .config import LongMessages
from .pdu import ESM_UDHI, Pdu

MAX_PARTS: Final = 255
_IE_CONCAT_8BIT: Final = 0x00
_IE_CONCAT_16BIT: Final = 0x08


class MessageTooLong(ValueError):
    """More than 255 parts: the concatenation header cannot number them."""


@dataclass(frozen=True, slots=True)
class Part:
    """What one submit_sm carries: short_message (UDH first when esm_class says so) or payload."""

    short_message: bytes
    esm_class: int = 0
    message_payload: bytes | None = None


def split(text: str, data_coding: int, mode: LongMessages, reference: int) -> list[Part]:
    units = text_units(text, data_coding)
    size = sum(len(unit) for unit in units)
    if size <= single_limit(data_coding):
        return [Part(b"".join(units))]
    if mode == "payload":
        return [Part(b"", message_payload=b"".join(units))]
    chunks = chunk_units(units, part_limit(data_coding))
    if len(chunks) > MAX_PARTS:
        raise MessageTooLong(f"{len(chunks)} parts; at most {MAX_PARTS} can be concatenated")
    ref = reference & 0xFF
    return [
        Part(bytes([5, _IE_CONCAT_8BIT, 3, ref, len(chunks), seq]) + chunk, ESM_UDHI)
        for seq, chunk in enumerate(chunks, start=1)
    ]


@dataclass(frozen=True, slots=True)
class Concat:
    """Where one incoming part belongs: reference, part count and this part's number (from 1)."""

    reference: int
    total: int
    number: int


def split_udh(short_message: bytes) -> tuple[Concat | None, bytes]:
    """Strip a leading UDH; return its concatenation info (if any) and the text octets."""
    if not short_message:
        return None, b""
    end = 1 + short_message[0]
    header, body = short_message[1:end], short_message[end:]
    pos = 0
    while pos + 2 <= len(header):
        iei, size = header[pos], header[pos + 1]
        data = header[pos + 2 : pos + 2 + size]
        pos += 2 + size
        if iei == _IE_CONCAT_8BIT and len(data) == 3:
            return Concat(data[0], data[1], data[2]), body
        if iei == _IE_CONCAT_16BIT and len(data) == 4:
            return Concat(int.from_bytes(data[:2], "big"), data[2], data[3]), body
    return None, body


def message_content(pdu: Pdu) -> tuple[Concat | None, bytes]:
    """The text octets of a deliver_sm/data_sm and, for a part, where it belongs."""
    payload = pdu.tlv_octets("message_payload")
    raw = payload if payload else pdu.octets("short_message")
    if pdu.number("esm_class") & ESM_UDHI:
        return split_udh(raw)
    total = pdu.tlv_int("sar_total_segments")
    if total and total > 1:
        ref = pdu.tlv_int("sar_msg_ref_num") or 0
        number = pdu.tlv_int("sar_segment_seqnum") or 1
        return Concat(ref, total, number), raw
    return None, raw


@dataclass(slots=True)
class _Pending:
    started: float
    parts: dict[int, bytes] = field(default_factory=dict)


class Reassembler:
    """Collects parts in memory until a message is whole.

    Parts are acknowledged to the SMSC as they arrive (holding the resp back would stall SMSCs
    that send parts one at a time), so a crash loses an incomplete message's earlier parts.
    """

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = timeout
        self._clock = clock
        self._pending: dict[tuple[str, str, int, int], _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, source: str, destination: str, concat: Concat, body: bytes) -> bytes | None:
        """Store one part; return the whole message's octets once every part is in.

        Call ``forget`` once the whole message has been handled.
        """
        now = self._clock()
        self._expire(now)
        if concat.total <= 1:
            return body
        if not 1 <= concat.number <= concat.total:
            return None  # a part number outside its own count cannot be placed
        key = (source, destination, concat.reference, concat.total)
        pending = self._pending.setdefault(key, _Pending(now))
        pending.parts[concat.number] = body  # a repeated part replaces the earlier copy
        if len(pending.parts) < concat.total:
            return None
        return b"".join(pending.parts[n] for n in sorted(pending.parts))

    def forget(self, source: str, destination: str, concat: Concat) -> None:
        """Drop a completed message's parts, once it has been handed on.

        Until then they stay, so if handing it on fails and the SMSC sends the last part again,
        the message is whole again.
        """
        self._pending.pop((source, destination, concat.reference, concat.total), None)

    def _expire(self, now: float) -> None:
        stale = [key for key, p in self._pending.items() if now - p.started > self._timeout]
        for key in stale:
            del self._pending[key]
