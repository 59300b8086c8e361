"""The ``messagestore`` resource: message counts and rates of the account's conversations.

Every command takes an optional ``conversation_key``: the run's own conversation when it is
missing or null, otherwise any conversation of the same account (another account's, or an
unknown key, fails with "Invalid conversation_key"). A conversation that has not stored a
message yet counts zero everywhere.

The numbers are the message store's counters, kept as messages are stored, so every command is
a single indexed read. Uniques are counts of distinct addresses (``from_addr`` inbound,
``to_addr`` outbound). Throughput is messages per minute over the ``sample_time`` seconds
before the conversation's newest message in that direction, as in Vumi Go.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.engine import Database
from vumigo.db.models.conversations import Conversation
from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run
from vumigo.store.batches import find_batch
from vumigo.store.counters import counters, progress_status
from vumigo.store.messages import INBOUND, OUTBOUND
from vumigo.store.queries import THROUGHPUT_SAMPLE_SECONDS, throughput

INVALID_CONVERSATION = "Invalid conversation_key"
#: Longest look-back ``sample_time`` may ask for: a week.
MAX_SAMPLE_TIME = 7 * 24 * 3600

_CONVERSATION = {
    "conversation_key": "string or null: one of the account's conversations; default this run's own"
}
_SAMPLE = {
    **_CONVERSATION,
    "sample_time": f"integer seconds to look back, default {THROUGHPUT_SAMPLE_SECONDS}",
}
_COUNT = {"count": "integer"}
_SAMPLE_ERROR = f"sample_time must be a whole number of seconds from 1 to {MAX_SAMPLE_TIME}"


class MessageStoreResource(Resource):
    """Counts, uniques, throughput and delivery progress of the account's conversations."""

    name = "messagestore"
    limits = {"sample_time": f"from 1 second to {MAX_SAMPLE_TIME // 86400} days"}

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _batch(self, session: AsyncSession, request: Request, run: Run) -> str | None:
        key: Any = request.get("conversation_key")
        if key is None:
            key = run.context.conversation_key
        if not isinstance(key, str) or not key or len(key) > 64:
            raise ResourceError(INVALID_CONVERSATION)
        conversation = await session.get(Conversation, key)
        if conversation is None or conversation.account_key != run.account_key:
            raise ResourceError(INVALID_CONVERSATION)
        return await find_batch(session, "conversation", key, run.account_key)

    async def _counter(self, request: Request, run: Run, name: str) -> Reply:
        async with self.db.sessions() as session:
            batch = await self._batch(session, request, run)
            counts = await counters(session, batch) if batch else {}
        return {"count": counts.get(name, 0)}

    async def _throughput(self, request: Request, run: Run, direction: str) -> Reply:
        sample = request.get("sample_time", THROUGHPUT_SAMPLE_SECONDS)
        if sample is None:
            sample = THROUGHPUT_SAMPLE_SECONDS
        if isinstance(sample, bool) or not isinstance(sample, int | float):
            raise ResourceError(_SAMPLE_ERROR)
        # The range check also turns away NaN and the infinities, which int() would choke on.
        if not 1 <= sample <= MAX_SAMPLE_TIME or sample != int(sample):
            raise ResourceError(_SAMPLE_ERROR)
        async with self.db.sessions() as session:
            batch = await self._batch(session, request, run)
            rate = await throughput(session, batch, direction, int(sample)) if batch else 0.0
        return {"throughput": rate}

    @command(
        "Delivery progress of the conversation's outbound messages.",
        request=_CONVERSATION,
        reply={
            "progress_status": "object of integers: sent, ack, nack, delivery_report, "
            "delivery_report_delivered, delivery_report_failed, delivery_report_pending"
        },
        errors=(INVALID_CONVERSATION,),
    )
    async def progress_status(self, request: Request, run: Run) -> Reply:
        async with self.db.sessions() as session:
            batch = await self._batch(session, request, run)
            counts = await counters(session, batch) if batch else {}
        return {"progress_status": progress_status(counts)}

    @command(
        "How many messages the conversation received.",
        request=_CONVERSATION,
        reply=_COUNT,
        errors=(INVALID_CONVERSATION,),
    )
    async def count_replies(self, request: Request, run: Run) -> Reply:
        return await self._counter(request, run, INBOUND)

    @command(
        "How many messages the conversation sent.",
        request=_CONVERSATION,
        reply=_COUNT,
        errors=(INVALID_CONVERSATION,),
    )
    async def count_sent_messages(self, request: Request, run: Run) -> Reply:
        return await self._counter(request, run, OUTBOUND)

    @command(
        "From how many distinct addresses the conversation received messages.",
        request=_CONVERSATION,
        reply=_COUNT,
        errors=(INVALID_CONVERSATION,),
    )
    async def count_inbound_uniques(self, request: Request, run: Run) -> Reply:
        return await self._counter(request, run, "inbound_uniques")

    @command(
        "To how many distinct addresses the conversation sent messages.",
        request=_CONVERSATION,
        reply=_COUNT,
        errors=(INVALID_CONVERSATION,),
    )
    async def count_outbound_uniques(self, request: Request, run: Run) -> Reply:
        return await self._counter(request, run, "outbound_uniques")

    @command(
        "Messages received per minute.",
        request=_SAMPLE,
        reply={"throughput": "number: messages per minute"},
        errors=(INVALID_CONVERSATION, _SAMPLE_ERROR),
    )
    async def inbound_throughput(self, request: Request, run: Run) -> Reply:
        return await self._throughput(request, run, INBOUND)

    @command(
        "Messages sent per minute.",
        request=_SAMPLE,
        reply={"throughput": "number: messages per minute"},
        errors=(INVALID_CONVERSATION, _SAMPLE_ERROR),
    )
    async def outbound_throughput(self, request: Request, run: Run) -> Reply:
        return await self._throughput(request, run, OUTBOUND)
