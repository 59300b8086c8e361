"""USSD session events over SMPP (ussd.py)."""

from __future__ import annotations

import pytest

from vumigo.transports.smpp.ussd import (
    PSSR_RESPONSE,
    USSR_REQUEST,
    inbound_event,
    outbound_tlvs,
    reply_session_info,
)


@pytest.mark.parametrize(
    ("service_op", "session_info", "event"),
    [
        (1, 0x0500, "new"),  # PSSR indication: the subscriber dialled the code
        (0, None, "new"),
        (18, 0x0502, "resume"),  # USSR confirm: an answer to our menu
        (None, None, "resume"),
        (18, 0x0503, "close"),  # end-of-session flag
        (1, 0x0001, "close"),
    ],
)
def test_inbound_event(service_op: int | None, session_info: int | None, event: str) -> None:
    assert inbound_event(service_op, session_info) == event


@pytest.mark.parametrize(
    ("inbound", "close", "reply"),
    [
        (0x0500, False, 0x0502),  # session 5, sequence 0 -> 1
        (0x0502, True, 0x0505),  # sequence 1 -> 2, end flag
        (0xFFFE, False, 0xFF00),  # sequence wraps at 127
        (None, True, 0x0001),
        (None, False, None),
    ],
)
def test_reply_session_info(inbound: int | None, close: bool, reply: int | None) -> None:
    assert reply_session_info(inbound, close) == reply


def test_outbound_tlvs() -> None:
    assert outbound_tlvs("resume", 0x0500) == {
        "ussd_service_op": USSR_REQUEST,
        "its_session_info": 0x0502,
    }
    assert outbound_tlvs("close", None) == {"ussd_service_op": PSSR_RESPONSE, "its_session_info": 1}
    assert outbound_tlvs(None, None) == {"ussd_service_op": USSR_REQUEST}
