"""Receipt parsing and SMSC id matching (receipts.py)."""

from __future__ import annotations

import pytest

from vumigo.transports.smpp.config import IdBase
from vumigo.transports.smpp.pdu import Pdu
from vumigo.transports.smpp.receipts import (
    lookup_key,
    parse_receipt_text,
    receipt_from_pdu,
    status_of,
    store_key,
)

STANDARD = (
    "id:1234567890 sub:001 dlvrd:001 submit date:2611280405 done date:2611280406 "
    "stat:DELIVRD err:000 text:Hello id:999 stat:X"
)


def test_parse_standard_receipt_text() -> None:
    assert parse_receipt_text(STANDARD) == {
        "id": "1234567890",
        "sub": "001",
        "dlvrd": "001",
        "submit_date": "2611280405",
        "done_date": "2611280406",
        "stat": "DELIVRD",
        "err": "000",
        "text": "Hello id:999 stat:X",  # text: is last and taken whole
    }


@pytest.mark.parametrize(
    ("text", "smsc_id", "stat", "err"),
    [
        (
            "id:3e8 sub:001 dlvrd:000 submit date:2611280405 done date:2611280406 stat:UNDELIV "
            "err:001 text:",
            "3e8",
            "UNDELIV",
            "001",
        ),
        ("ID:abc-123 STAT:EXPIRED ERR:0x0B", "abc-123", "EXPIRED", "0x0B"),
        ("id:42 stat:DELIVRD", "42", "DELIVRD", None),
        (
            "id:0000000042 sub:1 dlvrd:1 submit date:1 done date:1 stat:ACCEPTD err:0",
            "0000000042",
            "ACCEPTD",
            "0",
        ),
    ],
)
def test_parse_receipt_variants(text: str, smsc_id: str, stat: str, err: str | None) -> None:
    fields = parse_receipt_text(text)
    assert fields is not None
    assert (fields["id"], fields["stat"], fields.get("err")) == (smsc_id, stat, err)


@pytest.mark.parametrize("text", ["hello", "id: stat:DELIVRD", "valid:1 stat:DELIVRD", ""])
def test_not_a_receipt_text(text: str) -> None:
    assert parse_receipt_text(text) is None


@pytest.mark.parametrize(
    ("stat", "status"),
    [
        ("DELIVRD", "delivered"),
        ("delivrd", "delivered"),
        ("UNDELIV", "failed"),
        ("EXPIRED", "failed"),
        ("REJECTD", "failed"),
        ("DELETED", "failed"),
        ("ENROUTE", "pending"),
        ("ACCEPTD", "pending"),
        ("UNKNOWN", "pending"),
        ("WHATEVER", "pending"),
    ],
)
def test_status_of(stat: str, status: str) -> None:
    assert status_of(stat) == status


def _deliver(esm_class: int, text: str = "", **tlvs: int | str | bytes) -> Pdu:
    return Pdu(
        "deliver_sm",
        params={"esm_class": esm_class, "short_message": text.encode(), "data_coding": 0},
        tlvs=dict(tlvs),
    )


def test_receipt_from_text_only() -> None:
    receipt = receipt_from_pdu(_deliver(0x04, STANDARD))
    assert receipt is not None
    assert (receipt.status, receipt.stat, receipt.smsc_id) == ("delivered", "DELIVRD", "1234567890")
    assert receipt.tlv_id is None and receipt.error_code == "000"


def test_receipt_tlvs_win_over_text() -> None:
    pdu = _deliver(0x04, STANDARD, receipted_message_id="499602d2", message_state=5)
    receipt = receipt_from_pdu(pdu)
    assert receipt is not None
    assert (receipt.status, receipt.stat) == ("failed", "UNDELIV")
    assert (receipt.tlv_id, receipt.text_id, receipt.smsc_id) == (
        "499602d2",
        "1234567890",
        "499602d2",
    )


def test_receipt_with_tlvs_and_no_text() -> None:
    receipt = receipt_from_pdu(_deliver(0x04, "", receipted_message_id="77", message_state=2))
    assert receipt is not None
    assert (receipt.status, receipt.smsc_id) == ("delivered", "77")


def test_receipt_recognised_by_text_without_esm_class() -> None:
    receipt = receipt_from_pdu(_deliver(0x00, "id:9 sub:001 dlvrd:000 stat:REJECTD err:002"))
    assert receipt is not None and receipt.status == "failed"


@pytest.mark.parametrize("esm_class", [0x00, 0x40, 0x03])
def test_ordinary_messages_are_not_receipts(esm_class: int) -> None:
    assert receipt_from_pdu(_deliver(esm_class, "stat: nothing here")) is None


def test_intermediate_notification_is_pending() -> None:
    receipt = receipt_from_pdu(_deliver(0x20, "id:5 stat:ENROUTE"))
    assert receipt is not None and receipt.status == "pending"


# submit_sm_resp said `resp`, the receipt says `receipt`: with these bases they must match.
MATCHING: list[tuple[str, IdBase, str, IdBase]] = [
    ("1000", "text", "1000", "text"),
    ("ABC-1", "text", "abc-1", "text"),
    ("42", "text", "0000000042", "text"),
    ("1000", "decimal", "1000", "decimal"),
    ("3e8", "hex", "1000", "decimal"),
    ("1000", "decimal", "3E8", "hex"),
    ("3e8", "hex", "3e8", "hex"),
    ("3e8", "hex", "3e8", "text"),  # receipt written like the resp
    ("msg-7", "hex", "msg-7", "decimal"),  # not a number at all: compared as text
]


@pytest.mark.parametrize(("resp", "submit_base", "receipt", "receipt_base"), MATCHING)
def test_ids_match_across_bases(
    resp: str, submit_base: IdBase, receipt: str, receipt_base: IdBase
) -> None:
    assert store_key(resp, submit_base) == lookup_key(receipt, receipt_base, submit_base)


# ...and with these they must not: no guessing at another base.
NOT_MATCHING: list[tuple[str, IdBase, str, IdBase]] = [
    ("3e8", "text", "1000", "text"),
    ("49", "decimal", "73", "decimal"),
    ("73", "text", "49", "text"),  # "49" read as hex is 73: must not match
    ("1000", "hex", "1000", "decimal"),
]


@pytest.mark.parametrize(("resp", "submit_base", "receipt", "receipt_base"), NOT_MATCHING)
def test_ids_do_not_match_by_guessing(
    resp: str, submit_base: IdBase, receipt: str, receipt_base: IdBase
) -> None:
    assert store_key(resp, submit_base) != lookup_key(receipt, receipt_base, submit_base)
