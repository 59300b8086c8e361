"""``group`` router: the sender's contact groups pick the conversation-side endpoint.

Config: ``rules`` [{group: <group key>, endpoint}]. The first rule whose group is a static group
of the sender's contact wins; with no contact (none is made) or no matching rule the message
goes to ``default``. Smart groups are not consulted, as in the original: evaluating a query for
every inbound message would make routing as slow as the slowest query.
"""

from __future__ import annotations

from typing import Any

from vumigo.apps.contact_updates import delivery_class_of
from vumigo.apps.routers.base import RouterApp, RouterContext
from vumigo.contacts import find_by_address
from vumigo.contacts.service import groups_of
from vumigo.errors import InvalidInput
from vumigo.message import UserMessage
from vumigo.routing.connectors import DEFAULT_ENDPOINT, validate_endpoint


class GroupRouter(RouterApp):
    router_type = "group"
    display_name = "Group"

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        rules = config.get("rules", [])
        if not isinstance(rules, list):
            raise InvalidInput("rules must be a list of {group, endpoint}")
        for rule in rules:
            if not isinstance(rule, dict) or not isinstance(rule.get("group"), str):
                raise InvalidInput("each rule needs a group (a group key) and an endpoint")
            validate_endpoint(rule.get("endpoint", ""))
        return config

    async def route_inbound(self, ctx: RouterContext, msg: UserMessage) -> None:
        rules = [r for r in ctx.config.get("rules") or [] if isinstance(r, dict)]
        endpoint = DEFAULT_ENDPOINT
        if rules and msg.from_addr:
            groups = await self._groups(ctx, msg)
            for rule in rules:
                if rule.get("group") in groups and rule.get("endpoint"):
                    endpoint = str(rule["endpoint"])
                    break
        ctx.forward(msg, endpoint)

    async def _groups(self, ctx: RouterContext, msg: UserMessage) -> set[str]:
        assert msg.from_addr is not None
        async with self.engine.db.sessions() as session:
            contact = await find_by_address(
                session,
                ctx.router.account_key,
                delivery_class_of(msg.transport_type),
                msg.from_addr,
            )
            if contact is None:
                return set()
            return set((await groups_of(session, [contact.key]))[contact.key])
