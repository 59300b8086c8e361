"""The ``http_api_nostream`` and ``http_api`` conversation types: the account's own system
sends through the HTTP API and receives what the conversation gets, by push or by stream.

A message or event goes to the conversation's push URL when one is set (through the outbox),
else to a streaming client (``http_api`` only), else nowhere (``http_api_nostream`` logs it, as
the original did). Either way the write happens in the transaction that marks the message
handled, so what was handled is pushed or streamed, once.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.base import AppContext, ConversationApp
from vumigo.apps.http_api import outbox, stream
from vumigo.apps.http_api.config import ApiConfig
from vumigo.apps.http_api.runtime import runtime_for
from vumigo.message import Event, UserMessage

log = logging.getLogger(__name__)


class HttpApiNoStreamApp(ConversationApp):
    conversation_type = "http_api_nostream"
    display_name = "HTTP API (No Streaming)"
    streaming = False

    async def start(self) -> None:
        await runtime_for(self.engine).start_pusher()

    async def stop(self) -> None:
        await runtime_for(self.engine).stop_pusher()

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        config = ApiConfig.of(ctx.conversation)
        if not config.ignore_messages:
            self.forward(ctx, "message", msg.message_id, msg.to_json(), config.push_message_url)

    async def consume_event(self, ctx: AppContext, event: Event, message: UserMessage) -> None:
        config = ApiConfig.of(ctx.conversation)
        if not config.ignore_events:
            self.forward(ctx, "event", event.event_id, event.to_json(), config.push_event_url)

    def forward(
        self, ctx: AppContext, kind: str, item_id: str, body: str, push_url: str | None
    ) -> None:
        runtime = runtime_for(self.engine)
        settings = runtime.settings
        conversation = ctx.conversation
        if push_url is not None:

            async def push(session: AsyncSession) -> None:
                await outbox.enqueue(
                    session,
                    account_key=conversation.account_key,
                    conversation_key=conversation.key,
                    kind=kind,
                    item_id=item_id,
                    url=push_url,
                    body=body,
                    max_pending=settings.max_pending,
                )

            ctx.extra_writes.append(push)
            ctx.after_commit.append(runtime.wake_pusher)
        elif self.streaming:

            async def keep(session: AsyncSession) -> None:
                await stream.enqueue(session, conversation.key, kind, body, settings.stream_backlog)

            ctx.extra_writes.append(keep)
            ctx.after_commit.append(lambda: runtime.hub.notify(conversation.key, kind))
        else:
            log.info(
                "conversation %s has no push URL for %ss; dropping %s",
                conversation.key,
                kind,
                item_id,
            )


class HttpApiApp(HttpApiNoStreamApp):
    conversation_type = "http_api"
    display_name = "HTTP API"
    streaming = True
