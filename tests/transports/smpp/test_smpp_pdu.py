"""The wire format (pdu.py), checked against smpplib's own encoder where both can do it."""

from __future__ import annotations

import asyncio
import struct

import pytest
from smpplib import smpp as smpplib_smpp

from vumigo.transports.smpp.pdu import (
    ESME_RTHROTTLED,
    Pdu,
    PduError,
    UnknownCommand,
    Value,
    decode,
    encode,
    read_frame,
    status_name,
)

SUBMIT_PARAMS: dict[str, Value] = {
    "service_type": "",
    "source_addr_ton": 5,
    "source_addr_npi": 0,
    "source_addr": "VUMI",
    "dest_addr_ton": 1,
    "dest_addr_npi": 1,
    "destination_addr": "27820000001",
    "esm_class": 0x40,
    "registered_delivery": 1,
    "data_coding": 8,
    "short_message": b"\x05\x00\x03\x01\x02\x01\x00h\x00i",
}


class _Sequence:
    """What smpplib asks of a client to number a PDU."""

    sequence = 7

    def next_sequence(self) -> int:
        return self.sequence


def test_submit_sm_matches_smpplib() -> None:
    ours = encode(Pdu("submit_sm", 7, params=dict(SUBMIT_PARAMS)))
    theirs = smpplib_smpp.make_pdu("submit_sm", client=_Sequence(), **SUBMIT_PARAMS)
    assert ours == theirs.generate()


def test_submit_sm_round_trip_with_tlvs() -> None:
    pdu = Pdu(
        "submit_sm",
        42,
        params={**SUBMIT_PARAMS, "short_message": b""},
        tlvs={
            "message_payload": b"x" * 600,
            "ussd_service_op": 17,
            "its_session_info": 0x1203,
            "sar_msg_ref_num": 513,
        },
    )
    back = decode(encode(pdu))
    assert back.command == "submit_sm" and back.sequence == 42
    assert back.text("destination_addr") == "27820000001"
    assert back.number("data_coding") == 8
    assert back.tlv_octets("message_payload") == b"x" * 600
    assert back.tlv_int("ussd_service_op") == 17
    assert back.tlv_int("its_session_info") == 0x1203
    assert back.tlv_int("sar_msg_ref_num") == 513


def _deliver_sm_bytes(tlvs: bytes) -> bytes:
    body = (
        b"USSD\x00" + b"\x01\x01" + b"27820000001\x00" + b"\x00\x00" + b"*120#\x00"
        b"\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00\x00" + b"\x05*120#" + tlvs
    )
    return struct.pack(">LLLL", 16 + len(body), 0x00000005, 0, 9) + body


def test_deliver_sm_with_ussd_and_unknown_tlvs() -> None:
    # smpplib's parser raises on ussd_service_op in deliver_sm; ours keeps every TLV.
    tlvs = (
        b"\x05\x01\x00\x01\x01"  # ussd_service_op = 1
        + b"\x13\x83\x00\x02\x12\x00"  # its_session_info = 0x1200
        + b"\x14\x01\x00\x03abc"  # a vendor TLV
        + b"\x00\x1e\x00\x04x12\x00"  # receipted_message_id "x12"
    )
    pdu = decode(_deliver_sm_bytes(tlvs))
    assert pdu.command == "deliver_sm" and pdu.sequence == 9
    assert pdu.text("service_type") == "USSD"
    assert pdu.octets("short_message") == b"*120#"
    assert pdu.tlv_int("ussd_service_op") == 1
    assert pdu.tlv_int("its_session_info") == 0x1200
    assert pdu.tlvs["0x1401"] == b"abc"
    assert pdu.tlv_text("receipted_message_id") == "x12"


def test_error_response_has_no_body_and_decodes() -> None:
    data = encode(Pdu("submit_sm_resp", 3, ESME_RTHROTTLED, {"message_id": "ignored"}))
    assert len(data) == 16
    back = decode(data)
    assert (back.command, back.status, back.text("message_id")) == ("submit_sm_resp", 0x58, "")
    assert status_name(back.status) == "ESME_RTHROTTLED"
    assert status_name(0x4242) == "0x00004242"


def test_responses_and_empty_commands() -> None:
    resp = decode(encode(Pdu("deliver_sm_resp", 5)))
    assert resp.is_response and resp.text("message_id") == ""
    assert decode(encode(Pdu("enquire_link", 1))).command == "enquire_link"
    assert decode(encode(Pdu("generic_nack", 2, 3))).is_response


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x00\x00\x00\x10", PduError),  # shorter than a header
        (struct.pack(">LLLL", 20, 4, 0, 1), PduError),  # length says 20, is 16
        (struct.pack(">LLLL", 16, 0x77, 0, 1), UnknownCommand),
        (struct.pack(">LLLL", 21, 4, 0, 1) + b"abcde", PduError),  # unterminated string
    ],
)
def test_bad_pdus(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode(data)


def test_unknown_command_keeps_its_sequence() -> None:
    with pytest.raises(UnknownCommand) as caught:
        decode(struct.pack(">LLLL", 16, 0x77, 0, 1234))
    assert caught.value.sequence == 1234


def test_encode_refuses_oversized_short_message() -> None:
    with pytest.raises(PduError):
        encode(Pdu("submit_sm", 1, params={"short_message": b"x" * 255}))


async def test_read_frame_splits_a_stream() -> None:
    reader = asyncio.StreamReader()
    first = encode(Pdu("enquire_link", 1))
    second = encode(Pdu("submit_sm", 2, params=dict(SUBMIT_PARAMS)))
    reader.feed_data(first + second[:10])
    assert await read_frame(reader, 4096) == first
    reader.feed_data(second[10:])
    assert await read_frame(reader, 4096) == second
    reader.feed_data(struct.pack(">L", 8) + b"\x00" * 4)
    with pytest.raises(PduError):
        await read_frame(reader, 4096)
