"""The jsbox conversation type's sandbox: one :class:`SandboxManager` per engine, with the
engine's stores, sinks and database-backed resources, and what each run needs to know about
its conversation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy import select

from vumigo.apps.jsbox.config import JsBoxConfig
from vumigo.apps.jsbox.kv import DbKeyValueStore
from vumigo.apps.jsbox.logs import DbLogStore
from vumigo.apps.jsbox.settings import JsBoxSettings
from vumigo.apps.jsbox.sinks import OUTBOX, ContextOutbox, DbMetricSink, RunOutboundResource
from vumigo.db.models import Conversation, Tag
from vumigo.dispatcher.lookups import AppInfo
from vumigo.metrics.prometheus import watch_sandbox
from vumigo.sandbox import RunContext, RunResult, SandboxManager
from vumigo.sandbox.netguard import Connector, Resolver, direct_connector, system_resolver
from vumigo.sandbox.resources import ResourceRegistry
from vumigo.sandbox.resources.config import ConfigResource
from vumigo.sandbox.resources.contacts import ContactsResource
from vumigo.sandbox.resources.groups import GroupsResource
from vumigo.sandbox.resources.http import HttpResource
from vumigo.sandbox.resources.kv import KeyValueResource
from vumigo.sandbox.resources.log import LogResource, format_line
from vumigo.sandbox.resources.messagestore import MessageStoreResource
from vumigo.sandbox.resources.metrics import MetricsResource
from vumigo.sandbox.resources.optout import OptOutResource

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

#: Seconds a conversation's endpoints and its account's tags are reused between messages.
CONTEXT_TTL = 5.0


@dataclass(frozen=True)
class JsBoxOptions:
    """What tests and benchmarks may set instead of the environment (see :func:`configure`)."""

    settings: JsBoxSettings | None = None
    resolver: Resolver = system_resolver
    connector: Connector = direct_connector


_OPTIONS: WeakKeyDictionary[Engine, JsBoxOptions] = WeakKeyDictionary()


def configure(
    engine: Engine,
    settings: JsBoxSettings | None = None,
    *,
    resolver: Resolver = system_resolver,
    connector: Connector = direct_connector,
) -> None:
    """Sets the engine's jsbox settings (and the http resource's network steps) explicitly;
    call before the engine starts. Without it they come from ``VUMIGO_JSBOX_*``."""
    _OPTIONS[engine] = JsBoxOptions(settings, resolver, connector)


class JsBoxRuntime:
    def __init__(self, engine: Engine) -> None:
        options = _OPTIONS.get(engine) or JsBoxOptions()
        self.engine = engine
        self.settings = options.settings or JsBoxSettings.from_env()
        db = engine.db
        self.kv = DbKeyValueStore(db)
        self.logs = DbLogStore(db)
        registry = ResourceRegistry(
            [
                ConfigResource(),
                LogResource(),
                KeyValueResource(self.kv, self.settings.max_keys),
                HttpResource(
                    self.settings.http, resolver=options.resolver, connector=options.connector
                ),
                RunOutboundResource(self.settings.allowed_helper_metadata),
                MetricsResource(DbMetricSink(db)),
                ContactsResource(db),
                GroupsResource(db),
                OptOutResource(db, self._may_manage_optouts),
                MessageStoreResource(db),
            ]
        )
        self.manager = SandboxManager(
            self.settings.sandbox, resources=registry, log_store=self.logs
        )
        watch_sandbox(engine, self.manager)  # pool sizes and run times on /metrics
        self._contexts: dict[str, tuple[float, frozenset[str], frozenset[str]]] = {}
        log.info("jsbox sandbox isolation:\n%s", self.manager.isolation.describe())

    async def _may_manage_optouts(self, account_key: str) -> bool:
        account = await self.engine.lookups.account(account_key)
        return account is not None and account.can_manage_optouts

    async def _endpoints_and_tags(
        self, conversation: AppInfo
    ) -> tuple[frozenset[str], frozenset[str]]:
        now = time.monotonic()
        cached = self._contexts.get(conversation.key)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        async with self.engine.db.sessions() as session:
            extra = await session.scalar(
                select(Conversation.extra_endpoints).where(Conversation.key == conversation.key)
            )
            held = (
                await session.execute(
                    select(Tag.pool, Tag.tag).where(Tag.owner == conversation.account_key)
                )
            ).all()
        endpoints = frozenset(name for name in extra or () if isinstance(name, str))
        tags = frozenset(f"{pool}:{tag}" for pool, tag in held)
        if len(self._contexts) > 10_000:
            self._contexts.clear()
        self._contexts[conversation.key] = (now + CONTEXT_TTL, endpoints, tags)
        return endpoints, tags

    async def run(
        self,
        conversation: AppInfo,
        config: JsBoxConfig,
        message: Mapping[str, Any],
        outbox: ContextOutbox,
    ) -> RunResult:
        """Runs one message or event through the conversation's app; what it sends lands on
        the outbox's context."""
        assert config.javascript is not None
        extra_endpoints, tags = await self._endpoints_and_tags(conversation)
        context = RunContext(
            conversation_key=conversation.key,
            # The app may send on the conversation's extra endpoints and on those its config
            # names; the routing table decides where each leads.
            endpoints=extra_endpoints | config.endpoints,
            tags=tags,
            extras={OUTBOX: outbox},
        )
        return await self.manager.run(
            conversation.account_key, config.javascript, config.app_config, message, context
        )

    async def note(self, conversation: AppInfo, level: int, text: str) -> None:
        """Adds a line of the platform's own to a conversation's log (e.g. "no code")."""
        line = format_line(level, text)
        await self.logs.append(conversation.account_key, conversation.key, line)

    async def close(self) -> None:
        await self.manager.close()
        await self.logs.close()
