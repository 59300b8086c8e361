"""SMPP 3.4 ESME client: windowed submit_sm, deliver_sm for MO and receipts, USSD over SMPP.

    client = SmppClient(SmppConfig(host=..., system_id=...), MemoryCorrelationStore(),
                        on_inbound, on_event)
    await client.start(); await client.wait_bound(10)
    await client.submit("our-id-1", "12345", "27820000001", "hello")
    ...
    leftover = await client.stop()

Modules: config (settings), client (the ESME), session (one connection), pdu (wire format),
codec (GSM 03.38 / UCS-2), multipart (long messages), receipts (receipt parsing, SMSC ids),
flow (window, rate, throttling), outbox (the send queue), inbound (deliver_sm handling),
store (SMSC id correlation), ussd (session events), events (the callback types).
"""

from .client import SmppClient
from .codec import EncodingError
from .config import BindMode, IdBase, LongMessages, SmppConfig
from .events import EventHandler, EventKind, InboundHandler
from .multipart import MessageTooLong
from .receipts import DeliveryStatus, Receipt, parse_receipt_text, receipt_from_pdu
from .store import CorrelationStore, MemoryCorrelationStore
from .ussd import SessionEvent

__all__ = [
    "BindMode",
    "CorrelationStore",
    "DeliveryStatus",
    "EncodingError",
    "EventHandler",
    "EventKind",
    "IdBase",
    "InboundHandler",
    "LongMessages",
    "MemoryCorrelationStore",
    "MessageTooLong",
    "Receipt",
    "SessionEvent",
    "SmppClient",
    "SmppConfig",
    "parse_receipt_text",
    "receipt_from_pdu",
]
