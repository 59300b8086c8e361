"""Shared set-up for the jsbox tests: conversation configs, an engine with the dev channel, and
a phone that sends through the engine and collects the replies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tests.apps.helpers import channel, conversation
from vumigo.apps.jsbox.runtime import configure
from vumigo.apps.jsbox.settings import JsBoxSettings
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import StoredMessage
from vumigo.engine.core import Engine
from vumigo.message import UserMessage
from vumigo.sandbox import SandboxSettings
from vumigo.sandbox.netguard import Connector, Resolver, direct_connector, system_resolver


def jsbox_config(javascript: str, app: dict[str, Any] | None = None, **keys: str) -> dict[str, Any]:
    """A jsbox conversation config: code, the app's JSON config, and other app config keys."""
    values = {"config": json.dumps(app if app is not None else {"name": "some_app"}), **keys}
    return {
        "jsbox": {"javascript": javascript, "source_url": ""},
        "jsbox_app_config": {k: {"value": v, "source_url": ""} for k, v in values.items()},
    }


def quick_settings(**http: Any) -> JsBoxSettings:
    from vumigo.sandbox.resources.http import HttpSettings

    # No prewarm keeps process counts predictable; a short timeout keeps failures quick.
    return JsBoxSettings(
        sandbox=SandboxSettings(timeout=15.0, prewarm=False), http=HttpSettings(**http)
    )


@asynccontextmanager
async def jsbox_engine(
    settings: Settings,
    jsbox: JsBoxSettings | None = None,
    resolver: Resolver = system_resolver,
    connector: Connector = direct_connector,
) -> AsyncIterator[Engine]:
    """The whole engine in this event loop, with the jsbox settings given."""
    db = Database(settings.resolved_database_url)
    engine = Engine(settings, db)
    configure(engine, jsbox or quick_settings(), resolver=resolver, connector=connector)
    await engine.start(settings.roles)
    try:
        yield engine
    finally:
        await engine.stop()
        await db.dispose()


@dataclass
class Phone:
    """A handset on a dev tag: sends through ``accept_inbound``, returns the replies."""

    engine: Engine
    tag: str
    pool: str = "dev"
    transport_type: str = "ussd"

    async def say(
        self,
        from_addr: str,
        content: str | None,
        session_event: str | None = None,
        *,
        wait: float = 10.0,
        expect: int = 1,
    ) -> list[dict[str, Any]]:
        if session_event is None and self.transport_type == "ussd":
            session_event = "new" if content is None else "resume"
        msg = UserMessage(
            to_addr=self.tag,
            from_addr=from_addr,
            content=content,
            session_event=session_event,
            transport_name="dev",
            transport_type=self.transport_type,
            helper_metadata={"tag": {"tag": [self.pool, self.tag]}},
        )
        await self.engine.accept_inbound(msg)
        return await replies_to(self.engine.db, msg.message_id, expect, wait)


async def replies_to(
    db: Database, message_id: str, expect: int = 1, wait: float = 10.0
) -> list[dict[str, Any]]:
    """The stored replies to a message, once ``expect`` of them are there (or time runs out)."""
    deadline = time.monotonic() + wait
    while True:
        async with db.sessions() as session:
            rows = (
                await session.scalars(
                    select(StoredMessage.payload)
                    .where(StoredMessage.in_reply_to == message_id)
                    .order_by(StoredMessage.timestamp)
                )
            ).all()
        if len(rows) >= expect or time.monotonic() > deadline:
            return [json.loads(row) for row in rows]
        await asyncio.sleep(0.02)


async def jsbox_channel(
    db: Database, config: dict[str, Any], tags: tuple[str, ...] = ("5000",)
) -> tuple[str, str]:
    """An account holding dev tags with a running jsbox conversation on the first; returns
    (account key, conversation key)."""
    account, _ = await channel(db, list(tags))
    conv = await conversation(db, account, "jsbox", config, tag=tags[0])
    return account, conv
