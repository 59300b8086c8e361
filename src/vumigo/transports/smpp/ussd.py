"""USSD over SMPP: session events from ussd_service_op and its_session_info, and back.

its_session_info (SMPP 3.4 §5.3.2.43) is two octets: the session number, then a sequence number
in bits 7-1 and the end-of-session flag in bit 0. Replies echo the session number with the next
sequence number; the last reply of a session sets the end flag.
"""

from __future__ import annotations

from typing import Final, Literal

SessionEvent = Literal["new", "resume", "close"]

# ussd_service_op values (SMPP 3.4 §5.3.2.44).
PSSD_INDICATION: Final = 0
PSSR_INDICATION: Final = 1
USSR_REQUEST: Final = 2
USSN_REQUEST: Final = 3
PSSD_RESPONSE: Final = 16
PSSR_RESPONSE: Final = 17
USSR_CONFIRM: Final = 18
USSN_CONFIRM: Final = 19

_END_OF_SESSION: Final = 0x01


def inbound_event(service_op: int | None, session_info: int | None) -> SessionEvent:
    """The session event a USSD deliver_sm stands for."""
    if session_info is not None and session_info & _END_OF_SESSION:
        return "close"
    if service_op in (PSSD_INDICATION, PSSR_INDICATION):
        return "new"  # the subscriber dialled the service code
    return "resume"  # USSR confirm: an answer to our last menu


def reply_session_info(inbound: int | None, close: bool) -> int | None:
    """its_session_info for a reply: same session, next sequence number, end flag on close."""
    if inbound is None:
        return _END_OF_SESSION if close else None
    session_number = inbound >> 8
    sequence = ((inbound >> 1) + 1) & 0x7F
    return (session_number << 8) | (sequence << 1) | (_END_OF_SESSION if close else 0)


def outbound_tlvs(event: SessionEvent | None, inbound_info: int | None) -> dict[str, int]:
    """TLVs for a USSD submit_sm: close ends the session, anything else asks for an answer."""
    close = event == "close"
    tlvs = {"ussd_service_op": PSSR_RESPONSE if close else USSR_REQUEST}
    info = reply_session_info(inbound_info, close)
    if info is not None:
        tlvs["its_session_info"] = info
    return tlvs
