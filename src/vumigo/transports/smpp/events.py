"""The two callbacks through which the client reports to whoever owns it (the message engine)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Literal, Protocol

# ack: the SMSC accepted the message (details: smsc_id, smsc_ids)
# nack: the SMSC refused it for good (details: reason, the status name; status, its number)
# delivery_report: a receipt (details: status delivered|failed|pending, smsc_id, smsc_status,
#                  error_code, submit_date, done_date)
EventKind = Literal["ack", "nack", "delivery_report"]


class EventHandler(Protocol):
    """``on_event(kind, our_message_id, **details)``; awaited, in order, one at a time."""

    def __call__(self, kind: EventKind, message_id: str, /, **details: Any) -> Awaitable[None]: ...


class InboundHandler(Protocol):
    """``on_inbound(source, destination, content, **details)`` for each whole MO message.

    The SMSC is answered (deliver_sm_resp) only after this returns, so store the message before
    returning; raising makes the answer a temporary error (ESME_RX_T_APPN) so it comes again.
    details: data_coding, esm_class, parts, service_type, source_ton/npi, dest_ton/npi, and with
    USSD on: session_event (new|resume|close), ussd_service_op, ussd_session_info.
    """

    def __call__(
        self, source: str, destination: str, content: str, /, **details: Any
    ) -> Awaitable[None]: ...
