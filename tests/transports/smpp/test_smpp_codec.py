"""Charsets, data_coding choice, splitting and reassembly (codec.py, multipart.py)."""

from __future__ import annotations

import pytest

from vumigo.transports.smpp.codec import (
    EncodingError,
    alphabet,
    choose_data_coding,
    decode_text,
    encode_text,
    gsm_decode,
    gsm_encode,
    is_gsm,
)
from vumigo.transports.smpp.multipart import (
    Concat,
    MessageTooLong,
    Reassembler,
    message_content,
    split,
    split_udh,
)
from vumigo.transports.smpp.pdu import ESM_UDHI, Pdu

GSM_CASES = [
    # text, GSM octets (unpacked septets)
    ("@", b"\x00"),
    ("Hello", b"Hello"),
    ("£$¥", b"\x01\x02\x03"),
    ("\n\r", b"\x0a\x0d"),
    ("Δ_ΦΓΛΩΠΨΣΘΞ", bytes(range(0x10, 0x1B))),
    ("ÆæßÉ", b"\x1c\x1d\x1e\x1f"),
    ("¡¿§", b"\x40\x60\x5f"),
    ("ÄÖÑÜäöñüà", b"\x5b\x5c\x5d\x5e\x7b\x7c\x7d\x7e\x7f"),
    ("€", b"\x1b\x65"),
    ("{}", b"\x1b\x28\x1b\x29"),
    ("[~]", b"\x1b\x3c\x1b\x3d\x1b\x3e"),
    ("|^\\", b"\x1b\x40\x1b\x14\x1b\x2f"),
    ("\f", b"\x1b\x0a"),
    ("price: 5€ {ok}", b"price: 5\x1b\x65 \x1b\x28ok\x1b\x29"),
]


@pytest.mark.parametrize(("text", "octets"), GSM_CASES)
def test_gsm_round_trip(text: str, octets: bytes) -> None:
    assert is_gsm(text)
    assert gsm_encode(text) == octets
    assert gsm_decode(octets) == text
    assert decode_text(encode_text(text, 0), 0) == text


@pytest.mark.parametrize("text", ["Привет", "日本", "ç", "😀", "naïve", "`"])
def test_non_gsm_text_is_refused_by_gsm(text: str) -> None:
    assert not is_gsm(text)
    with pytest.raises(EncodingError):
        gsm_encode(text)


def test_gsm_decode_escape_without_extension_shows_basic_character() -> None:
    assert gsm_decode(b"\x1bA") == "A"
    assert gsm_decode(b"a\x1b") == "a"


@pytest.mark.parametrize(
    ("text", "preferred", "expected"),
    [
        ("hello", 0, 0),
        ("hello €", 0, 0),
        ("naïve", 0, 8),
        ("Привет", 0, 8),
        ("hello", 1, 1),
        ("€", 1, 8),
        ("naïve", 3, 3),
        ("Привет", 3, 8),
        ("hello", 8, 8),
    ],
)
def test_choose_data_coding(text: str, preferred: int, expected: int) -> None:
    assert choose_data_coding(text, preferred) == expected


@pytest.mark.parametrize(
    ("data_coding", "kind"),
    [
        (0, "gsm"),
        (1, "ascii"),
        (3, "latin1"),
        (8, "ucs2"),
        (4, "binary"),
        (2, "binary"),
        (0xF0, "gsm"),
        (0xF4, "binary"),
        (0x18, "ucs2"),
        (0x10, "gsm"),
    ],
)
def test_alphabet(data_coding: int, kind: str) -> None:
    assert alphabet(data_coding) == kind


@pytest.mark.parametrize(
    ("text", "coding", "octets"),
    [
        ("Привет", 8, "Привет".encode("utf-16-be")),
        ("😀", 8, b"\xd8\x3d\xde\x00"),
        ("naïve", 3, b"na\xefve"),
        ("plain", 1, b"plain"),
    ],
)
def test_other_codings_round_trip(text: str, coding: int, octets: bytes) -> None:
    assert encode_text(text, coding) == octets
    assert decode_text(octets, coding) == text


def _bodies(parts: list[bytes]) -> list[bytes]:
    return [split_udh(p)[1] for p in parts]


@pytest.mark.parametrize(
    ("text", "coding", "sizes"),
    [
        ("a" * 160, 0, [160]),
        ("a" * 161, 0, [153, 8]),
        ("a" * 306, 0, [153, 153]),
        ("a" * 307, 0, [153, 153, 1]),
        ("€" * 80, 0, [160]),  # extension characters take two septets
        ("€" * 81, 0, [152, 10]),  # and a part never ends between escape and code
        ("a" * 152 + "€" + "a" * 10, 0, [152, 12]),
        ("я" * 70, 8, [140]),
        ("я" * 71, 8, [134, 8]),
        ("я" * 134, 8, [134, 134]),
        ("я" * 135, 8, [134, 134, 2]),
        ("я" * 66 + "😀" + "я" * 10, 8, [132, 24]),  # a surrogate pair stays whole
        ("é" * 140, 3, [140]),
        ("é" * 141, 3, [134, 7]),
    ],
)
def test_split_sizes(text: str, coding: int, sizes: list[int]) -> None:
    parts = split(text, coding, "udh", reference=7)
    if len(sizes) == 1:
        assert len(parts) == 1 and parts[0].esm_class == 0
        assert len(parts[0].short_message) == sizes[0]
        return
    assert [p.esm_class for p in parts] == [ESM_UDHI] * len(sizes)
    headers = [p.short_message[:6] for p in parts]
    assert headers == [bytes([5, 0, 3, 7, len(sizes), n]) for n in range(1, len(sizes) + 1)]
    bodies = _bodies([p.short_message for p in parts])
    assert [len(b) for b in bodies] == sizes
    assert decode_text(b"".join(bodies), coding) == text


def test_split_into_message_payload() -> None:
    text = "x" * 400
    parts = split(text, 0, "payload", reference=1)
    assert len(parts) == 1
    assert parts[0].short_message == b"" and parts[0].message_payload == text.encode()
    assert split("short", 0, "payload", 1)[0].message_payload is None


def test_split_refuses_more_than_255_parts() -> None:
    with pytest.raises(MessageTooLong):
        split("a" * 153 * 256, 0, "udh", reference=1)


def test_split_udh_reads_8_and_16_bit_references() -> None:
    assert split_udh(b"\x05\x00\x03\x2a\x03\x02body") == (Concat(0x2A, 3, 2), b"body")
    assert split_udh(b"\x06\x08\x04\x01\x02\x02\x01body") == (Concat(0x0102, 2, 1), b"body")
    # another IE first (a port address), then the concatenation IE
    assert split_udh(b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x09\x02\x01x") == (
        Concat(9, 2, 1),
        b"x",
    )
    assert split_udh(b"\x02\x70\x00text") == (None, b"text")


def test_message_content_reads_sar_tlvs_and_payload() -> None:
    sar = Pdu(
        "deliver_sm",
        params={"short_message": b"part"},
        tlvs={"sar_msg_ref_num": 300, "sar_total_segments": 2, "sar_segment_seqnum": 2},
    )
    assert message_content(sar) == (Concat(300, 2, 2), b"part")
    payload = Pdu("deliver_sm", params={"short_message": b""}, tlvs={"message_payload": b"all"})
    assert message_content(payload) == (None, b"all")


def test_reassembler_joins_out_of_order_and_repeated_parts() -> None:
    parts = Reassembler(timeout=60)
    assert parts.add("a", "b", Concat(5, 3, 3), b"3") is None
    assert parts.add("a", "b", Concat(5, 3, 1), b"1") is None
    assert parts.add("a", "b", Concat(5, 3, 1), b"1") is None  # the SMSC sent part 1 twice
    assert parts.add("x", "b", Concat(5, 3, 2), b"other sender") is None
    assert parts.add("a", "b", Concat(5, 3, 2), b"2") == b"123"
    parts.forget("a", "b", Concat(5, 3, 2))
    assert len(parts) == 1  # only the other sender's part is left


def test_reassembler_keeps_parts_until_forgotten() -> None:
    parts = Reassembler(timeout=60)
    parts.add("a", "b", Concat(1, 2, 1), b"x")
    assert parts.add("a", "b", Concat(1, 2, 2), b"y") == b"xy"
    # handing it on failed; the SMSC sends the last part again
    assert parts.add("a", "b", Concat(1, 2, 2), b"y") == b"xy"


def test_reassembler_expires_incomplete_messages() -> None:
    now = [0.0]
    parts = Reassembler(timeout=10, clock=lambda: now[0])
    parts.add("a", "b", Concat(1, 2, 1), b"x")
    now[0] = 11.0
    assert parts.add("a", "b", Concat(2, 2, 1), b"y") is None
    assert len(parts) == 1
    assert parts.add("a", "b", Concat(1, 2, 2), b"z") is None  # part 1 is gone
    assert parts.add("a", "b", Concat(1, 2, 9), b"?") is None  # no part 9 of 2
