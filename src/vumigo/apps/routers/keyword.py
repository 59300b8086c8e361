"""``keyword`` router: the first word of a message picks the conversation-side endpoint.

Config: ``keyword_endpoint_mapping`` {keyword: endpoint}. The first whitespace-separated word is
compared with the keywords case-insensitively and exactly (not as a pattern, as the original
did); anything else, including an empty message or a USSD session start, goes to ``default``.
"""

from __future__ import annotations

from typing import Any

from vumigo.apps.routers.base import RouterApp, RouterContext
from vumigo.errors import InvalidInput
from vumigo.message import UserMessage
from vumigo.routing.connectors import DEFAULT_ENDPOINT, validate_endpoint


def first_word(content: str | None) -> str:
    words = (content or "").split(None, 1)
    return words[0].lower() if words else ""


class KeywordRouter(RouterApp):
    router_type = "keyword"
    display_name = "Keyword"

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        mapping = config.get("keyword_endpoint_mapping", {})
        if not isinstance(mapping, dict):
            raise InvalidInput("keyword_endpoint_mapping must be an object of keyword: endpoint")
        for keyword, endpoint in mapping.items():
            if not keyword.strip() or len(keyword.split()) != 1:
                raise InvalidInput(f"keyword {keyword!r} must be one word")
            validate_endpoint(endpoint)
        return config

    async def route_inbound(self, ctx: RouterContext, msg: UserMessage) -> None:
        mapping = ctx.config.get("keyword_endpoint_mapping") or {}
        endpoints = {str(k).lower(): str(v) for k, v in mapping.items()}
        ctx.forward(msg, endpoints.get(first_word(msg.content), DEFAULT_ENDPOINT))
