"""SMPP 3.4 PDUs as plain typed values: framing, encoding and decoding.

Command ids, status codes and TLV tags come from smpplib's tables (``smpplib.command_codes`` and
``smpplib.consts``). The byte layout is done here instead of by ``smpplib.command`` because its
parser raises on any TLV a command does not list (USSD gateways put ``ussd_service_op`` on
deliver_sm; newer SMSCs add TLVs to submit_sm_resp), its constructors ignore a given sequence
number, and it is untyped. The commands an ESME exchanges have short, fixed layouts, below.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from typing import Final

from smpplib import command_codes, consts

COMMAND_IDS: Final[dict[str, int]] = {str(k): int(v) for k, v in command_codes.commands.items()}
COMMAND_NAMES: Final[dict[int, str]] = {v: k for k, v in COMMAND_IDS.items()}
TLV_TAGS: Final[dict[str, int]] = {str(k): int(v) for k, v in consts.OPTIONAL_PARAMS.items()}
TLV_NAMES: Final[dict[int, str]] = {v: k for k, v in TLV_TAGS.items()}
STATUS_NAMES: Final[dict[int, str]] = {
    int(getattr(consts, name)): name.removeprefix("SMPP_")
    for name in dir(consts)
    if name.startswith("SMPP_ESME_")
}

ESME_ROK: Final = int(consts.SMPP_ESME_ROK)
ESME_RINVCMDLEN: Final = int(consts.SMPP_ESME_RINVCMDLEN)
ESME_RINVCMDID: Final = int(consts.SMPP_ESME_RINVCMDID)
ESME_RMSGQFUL: Final = int(consts.SMPP_ESME_RMSGQFUL)
ESME_RTHROTTLED: Final = int(consts.SMPP_ESME_RTHROTTLED)
ESME_RX_T_APPN: Final = int(consts.SMPP_ESME_RX_T_APPN)

# esm_class bits (SMPP 3.4 §5.2.12).
ESM_UDHI: Final = 0x40
ESM_TYPE_MASK: Final = 0x3C

HEADER: Final = struct.Struct(">LLLL")

Value = int | str | bytes

# Mandatory parameters per command, in wire order: "c" a NUL-terminated string, "B" one octet,
# "sm" short_message preceded by its sm_length octet.
_BIND = (
    ("system_id", "c"),
    ("password", "c"),
    ("system_type", "c"),
    ("interface_version", "B"),
    ("addr_ton", "B"),
    ("addr_npi", "B"),
    ("address_range", "c"),
)
_ADDRESSES = (
    ("service_type", "c"),
    ("source_addr_ton", "B"),
    ("source_addr_npi", "B"),
    ("source_addr", "c"),
    ("dest_addr_ton", "B"),
    ("dest_addr_npi", "B"),
    ("destination_addr", "c"),
    ("esm_class", "B"),
)
_SHORT_MESSAGE = (
    *_ADDRESSES,
    ("protocol_id", "B"),
    ("priority_flag", "B"),
    ("schedule_delivery_time", "c"),
    ("validity_period", "c"),
    ("registered_delivery", "B"),
    ("replace_if_present_flag", "B"),
    ("data_coding", "B"),
    ("sm_default_msg_id", "B"),
    ("short_message", "sm"),
)
LAYOUTS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "bind_transmitter": _BIND,
    "bind_receiver": _BIND,
    "bind_transceiver": _BIND,
    "bind_transmitter_resp": (("system_id", "c"),),
    "bind_receiver_resp": (("system_id", "c"),),
    "bind_transceiver_resp": (("system_id", "c"),),
    "submit_sm": _SHORT_MESSAGE,
    "deliver_sm": _SHORT_MESSAGE,
    "data_sm": (*_ADDRESSES, ("registered_delivery", "B"), ("data_coding", "B")),
    "submit_sm_resp": (("message_id", "c"),),
    "deliver_sm_resp": (("message_id", "c"),),
    "data_sm_resp": (("message_id", "c"),),
}

# TLVs whose value is an unsigned integer (octets), or a NUL-terminated string; others are octets.
INT_TLV_SIZES: Final[dict[str, int]] = {
    "dest_addr_subunit": 1,
    "source_addr_subunit": 1,
    "dest_network_type": 1,
    "source_network_type": 1,
    "dest_bearer_type": 1,
    "source_bearer_type": 1,
    "qos_time_to_live": 4,
    "payload_type": 1,
    "ms_msg_wait_facilities": 1,
    "privacy_indicator": 1,
    "user_message_reference": 2,
    "user_response_code": 1,
    "source_port": 2,
    "destination_port": 2,
    "sar_msg_ref_num": 2,
    "language_indicator": 1,
    "sar_total_segments": 1,
    "sar_segment_seqnum": 1,
    "sc_interface_version": 1,
    "number_of_messages": 1,
    "dpf_result": 1,
    "set_dpf": 1,
    "ms_availability_status": 1,
    "delivery_failure_reason": 1,
    "more_messages_to_send": 1,
    "message_state": 1,
    "ussd_service_op": 1,
    "its_session_info": 2,
    "its_reply_type": 1,
    "ms_validity": 1,
    "display_time": 1,
}
CSTRING_TLVS: Final = frozenset({"receipted_message_id", "additional_status_info_text"})


class PduError(ValueError):
    """Bytes that are not a valid PDU. ``sequence`` is set when the header could be read."""

    def __init__(self, message: str, sequence: int | None = None) -> None:
        super().__init__(message)
        self.sequence = sequence


class UnknownCommand(PduError):
    """A well-framed PDU with a command id this module does not know."""


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08x}")


@dataclass(slots=True)
class Pdu:
    """One PDU. ``params`` are the mandatory parameters by name, ``tlvs`` the optional ones."""

    command: str
    sequence: int = 0
    status: int = ESME_ROK
    params: dict[str, Value] = field(default_factory=dict)
    tlvs: dict[str, Value] = field(default_factory=dict)

    @property
    def is_response(self) -> bool:
        return self.command == "generic_nack" or self.command.endswith("_resp")

    def text(self, name: str) -> str:
        value = self.params.get(name, "")
        return value if isinstance(value, str) else str(value)

    def number(self, name: str) -> int:
        value = self.params.get(name, 0)
        return value if isinstance(value, int) else 0

    def octets(self, name: str) -> bytes:
        value = self.params.get(name, b"")
        return value if isinstance(value, bytes) else b""

    def tlv_int(self, name: str) -> int | None:
        value = self.tlvs.get(name)
        return value if isinstance(value, int) else None

    def tlv_text(self, name: str) -> str | None:
        value = self.tlvs.get(name)
        return value if isinstance(value, str) else None

    def tlv_octets(self, name: str) -> bytes | None:
        value = self.tlvs.get(name)
        return value if isinstance(value, bytes) else None


def encode(pdu: Pdu) -> bytes:
    body = bytearray()
    # SMPP 3.4 §3.3: a response with an error status carries no body.
    if not (pdu.is_response and pdu.status != ESME_ROK):
        for name, kind in LAYOUTS.get(pdu.command, ()):
            _encode_param(body, name, kind, pdu.params.get(name))
        for name, value in pdu.tlvs.items():
            _encode_tlv(body, name, value)
    try:
        command_id = COMMAND_IDS[pdu.command]
    except KeyError:
        raise PduError(f"unknown command {pdu.command!r}") from None
    return HEADER.pack(HEADER.size + len(body), command_id, pdu.status, pdu.sequence) + body


def _as_bytes(value: Value | None) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1")
    raise PduError(f"expected text or octets, got {value!r}")


def _encode_param(body: bytearray, name: str, kind: str, value: Value | None) -> None:
    if kind == "B":
        if not isinstance(value, int | None):
            raise PduError(f"{name} must be an integer")
        body.append((value or 0) & 0xFF)
    elif kind == "c":
        raw = _as_bytes(value)
        if b"\0" in raw:
            raise PduError(f"{name} contains NUL")
        body += raw + b"\0"
    else:
        raw = _as_bytes(value)
        if len(raw) > 254:
            raise PduError(f"{name} is {len(raw)} octets; at most 254 fit, use message_payload")
        body.append(len(raw))
        body += raw


def _encode_tlv(body: bytearray, name: str, value: Value) -> None:
    tag = TLV_TAGS.get(name)
    if tag is None:
        raise PduError(f"unknown TLV {name!r}")
    if isinstance(value, int):
        size = INT_TLV_SIZES.get(name)
        if size is None:
            raise PduError(f"TLV {name} does not take an integer")
        raw = value.to_bytes(size, "big")
    elif name in CSTRING_TLVS:
        raw = _as_bytes(value) + b"\0"
    else:
        raw = _as_bytes(value)
    body += struct.pack(">HH", tag, len(raw)) + raw


def decode(data: bytes) -> Pdu:
    if len(data) < HEADER.size:
        raise PduError("PDU shorter than its header")
    length, command_id, status, sequence = HEADER.unpack_from(data)
    if length != len(data):
        raise PduError("command_length does not match the PDU", sequence)
    command = COMMAND_NAMES.get(command_id)
    if command is None:
        raise UnknownCommand(f"unknown command id 0x{command_id:08x}", sequence)
    pdu = Pdu(command, sequence, status)
    pos = HEADER.size
    for name, kind in LAYOUTS.get(command, ()):
        if pos >= length:
            break  # error responses and some SMSCs' short bodies simply end early
        pos = _decode_param(pdu, data, pos, name, kind)
    while pos + 4 <= length:
        tag, size = struct.unpack_from(">HH", data, pos)
        pos += 4
        raw = data[pos : pos + size]
        if len(raw) != size:
            raise PduError(f"TLV 0x{tag:04x} runs past the end of the PDU", sequence)
        pos += size
        name = TLV_NAMES.get(tag, f"0x{tag:04x}")
        pdu.tlvs[name] = _decode_tlv(name, raw)
    return pdu


def _decode_param(pdu: Pdu, data: bytes, pos: int, name: str, kind: str) -> int:
    if kind == "B":
        pdu.params[name] = data[pos]
        return pos + 1
    if kind == "c":
        end = data.find(b"\0", pos)
        if end < 0:
            raise PduError(f"{name} is not NUL-terminated", pdu.sequence)
        pdu.params[name] = data[pos:end].decode("latin-1")
        return end + 1
    size = data[pos]
    raw = data[pos + 1 : pos + 1 + size]
    if len(raw) != size:
        raise PduError(f"{name} runs past the end of the PDU", pdu.sequence)
    pdu.params[name] = bytes(raw)
    return pos + 1 + size


def _decode_tlv(name: str, raw: bytes) -> Value:
    if name in INT_TLV_SIZES and raw:
        return int.from_bytes(raw, "big")
    if name in CSTRING_TLVS:
        return raw.split(b"\0", 1)[0].decode("latin-1")
    return bytes(raw)


async def read_frame(reader: asyncio.StreamReader, max_length: int) -> bytes:
    """The next whole PDU from the stream; raises IncompleteReadError at end of stream."""
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">L", head)
    if not HEADER.size <= length <= max_length:
        # The stream cannot be re-synchronised after a bad length: the caller drops it.
        raise PduError(f"command_length {length} out of range")
    return head + await reader.readexactly(length - 4)
