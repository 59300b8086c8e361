"""deliver_sm (and data_sm) from the SMSC: receipts become delivery_report events, the rest MO.

Each PDU is answered only after its callback returned (persist, then acknowledge); a callback
that raises gets the SMSC a temporary error (ESME_RX_T_APPN) so it delivers the PDU again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, Final

from .codec import decode_text
from .config import SmppConfig
from .events import EventHandler, InboundHandler
from .multipart import Reassembler, message_content
from .pdu import ESME_ROK, ESME_RX_T_APPN, Pdu
from .receipts import Receipt, lookup_key, receipt_from_pdu
from .store import CorrelationStore
from .ussd import inbound_event

logger = logging.getLogger(__name__)

# With a separate receiver bind a receipt can overtake the submit_sm_resp that names its id (it
# comes on the other connection), so a miss is retried for a moment while submits are unanswered.
_LOOKUP_RETRY_DELAYS: Final = (0.05, 0.1, 0.2, 0.4, 0.8)
_MAX_USSD_SESSIONS: Final = 100_000


class InboundProcessor:
    def __init__(
        self,
        config: SmppConfig,
        store: CorrelationStore,
        on_inbound: InboundHandler,
        on_event: EventHandler,
        counters: Counter[str],
        awaiting_responses: Callable[[], bool],
    ) -> None:
        self._config = config
        self._store = store
        self._on_inbound = on_inbound
        self._on_event = on_event
        self._counters = counters
        self._awaiting_responses = awaiting_responses
        self.reassembler = Reassembler(config.multipart_timeout)
        # Last its_session_info seen from each subscriber, so replies can continue the session.
        self._ussd_sessions: OrderedDict[str, int] = OrderedDict()

    async def handle(self, pdu: Pdu) -> int:
        """Process one deliver_sm/data_sm; returns the command_status to answer it with."""
        try:
            receipt = receipt_from_pdu(pdu)
            if receipt is not None:
                await self._receipt(receipt)
            else:
                await self._message(pdu)
        except Exception:
            logger.exception("inbound %s (sequence %d) failed", pdu.command, pdu.sequence)
            self._counters["inbound_errors"] += 1
            return ESME_RX_T_APPN
        return ESME_ROK

    def ussd_session_info(self, msisdn: str) -> int | None:
        return self._ussd_sessions.get(msisdn)

    def end_ussd_session(self, msisdn: str) -> None:
        self._ussd_sessions.pop(msisdn, None)

    async def _receipt(self, receipt: Receipt) -> None:
        self._counters["receipts"] += 1
        message_id = await self._correlate(receipt)
        if message_id is None:
            # Still acknowledged: the SMSC would only send it again, and it still would not match.
            self._counters["receipts_unmatched"] += 1
            logger.warning("receipt for unknown SMSC id %r (%s)", receipt.smsc_id, receipt.stat)
            return
        await self._on_event(
            "delivery_report",
            message_id,
            status=receipt.status,
            smsc_id=receipt.smsc_id,
            smsc_status=receipt.stat,
            error_code=receipt.error_code,
            submit_date=receipt.submit_date,
            done_date=receipt.done_date,
        )

    async def _correlate(self, receipt: Receipt) -> str | None:
        found = await self._lookup(receipt)
        for delay in _LOOKUP_RETRY_DELAYS:
            if found is not None or not self._awaiting_responses():
                break
            await asyncio.sleep(delay)
            found = await self._lookup(receipt)
        return found

    async def _lookup(self, receipt: Receipt) -> str | None:
        submit_base = self._config.submit_id_base
        keys: list[str] = []
        if receipt.tlv_id:
            # receipted_message_id quotes the id as submit_sm_resp gave it.
            keys.append(lookup_key(receipt.tlv_id, submit_base, submit_base))
        if receipt.text_id:
            keys.append(lookup_key(receipt.text_id, self._config.receipt_id_base, submit_base))
        for key in dict.fromkeys(keys):
            message_id = await self._store.get(key)
            if message_id is not None:
                return message_id
        return None

    async def _message(self, pdu: Pdu) -> None:
        source = pdu.text("source_addr")
        destination = pdu.text("destination_addr")
        data_coding = pdu.number("data_coding")
        concat, body = message_content(pdu)
        parts = 1
        if concat is not None and concat.total > 1:
            whole = self.reassembler.add(source, destination, concat, body)
            if whole is None:
                self._counters["mo_parts_held"] += 1
                return
            body, parts = whole, concat.total
        details: dict[str, Any] = {
            "data_coding": data_coding,
            "esm_class": pdu.number("esm_class"),
            "parts": parts,
            "service_type": pdu.text("service_type"),
            "source_ton": pdu.number("source_addr_ton"),
            "source_npi": pdu.number("source_addr_npi"),
            "dest_ton": pdu.number("dest_addr_ton"),
            "dest_npi": pdu.number("dest_addr_npi"),
        }
        if self._config.ussd:
            details.update(self._ussd_details(pdu, source))
        await self._on_inbound(source, destination, decode_text(body, data_coding), **details)
        if concat is not None:
            self.reassembler.forget(source, destination, concat)
        self._counters["mo_received"] += 1

    def _ussd_details(self, pdu: Pdu, source: str) -> dict[str, Any]:
        service_op = pdu.tlv_int("ussd_service_op")
        session_info = pdu.tlv_int("its_session_info")
        event = inbound_event(service_op, session_info)
        if event == "close":
            self.end_ussd_session(source)
        elif session_info is not None:
            self._ussd_sessions[source] = session_info
            self._ussd_sessions.move_to_end(source)
            while len(self._ussd_sessions) > _MAX_USSD_SESSIONS:
                self._ussd_sessions.popitem(last=False)
        return {
            "session_event": event,
            "ussd_service_op": service_op,
            "ussd_session_info": session_info,
        }
