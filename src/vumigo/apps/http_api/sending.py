"""``PUT messages.json``: from the client's JSON to a message the conversation sends.

A payload with a truthy ``in_reply_to`` is a reply to an inbound message of this
conversation; anything else is a new message to ``to_addr``. The checks and their texts are
the original's: other payload fields are ignored, a new message is refused when its recipient
opted out (unless the account disabled opt-outs), a reply is not.

Strings are also checked for what storage cannot hold (NUL, lone surrogates, over-long
addresses), so hostile input is a 400 here rather than a database error later.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vumigo.apps.base import AppContext
from vumigo.apps.http_api.config import ApiConfig
from vumigo.apps.http_api.errors import INVALID_MESSAGE, ApiError
from vumigo.db.models import OptOut
from vumigo.dispatcher.lookups import AppInfo
from vumigo.message import SESSION_EVENTS, UserMessage
from vumigo.store import messages as store
from vumigo.text import storable

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

MAX_ADDRESS = 255  # the message store's address columns
MAX_ADDRESS_TYPE = 32  # the opt-out table's
MAX_MESSAGE_ID = 64
DEFAULT_ADDRESS_TYPE = "msisdn"

Check = Callable[[Any], bool]


def _text_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and storable(value))


def _address(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ADDRESS and storable(value)


def _session_event(value: Any) -> bool:
    return (value is None or isinstance(value, str)) and value in SESSION_EVENTS


SEND_CHECKS: dict[str, Check] = {"content": _text_or_none, "to_addr": _address}
REPLY_CHECKS: dict[str, Check] = {"content": _text_or_none, "session_event": _session_event}


def validate(payload: dict[str, Any], checks: dict[str, Check]) -> None:
    """Raises the original's 400 for every key that fails its check, sorted by key."""
    errors = [
        f"Invalid or missing value for payload key {key!r}"
        for key, check in sorted(checks.items())
        if not check(payload.get(key))
    ]
    if len(errors) == 1:
        raise ApiError(400, errors[0])
    if errors:
        raise ApiError(400, "Errors:\n* " + "\n* ".join(errors))


def check_length(content: str | None, limit: int | None) -> None:
    if limit is not None and content is not None and len(content) > limit:
        raise ApiError(400, f"Payload content too long: {len(content)} > {limit}")


async def build_message(engine: Engine, conversation: AppInfo, payload: Any) -> UserMessage:
    """The message a PUT asks for, ready to be sent; raises ApiError (400)."""
    if not isinstance(payload, dict):
        raise ApiError(400, INVALID_MESSAGE)
    ctx = AppContext(engine, conversation)
    in_reply_to = payload.get("in_reply_to")
    if in_reply_to:
        return await _reply(ctx, payload, in_reply_to)
    return await _send(ctx, payload)


async def _opted_out(engine: Engine, account_key: str, address_type: str, address: str) -> bool:
    account = await engine.lookups.account(account_key)
    if account is not None and account.disable_optouts:
        return False
    async with engine.db.sessions() as session:
        found = await session.execute(
            select(OptOut.id).where(
                OptOut.account_key == account_key,
                OptOut.address_type == address_type,
                OptOut.address == address,
            )
        )
        return found.first() is not None


async def _send(ctx: AppContext, payload: dict[str, Any]) -> UserMessage:
    to_addr = payload.get("to_addr")
    if isinstance(to_addr, str) and _address(to_addr):
        address_type = payload.get("to_addr_type")
        if not (
            isinstance(address_type, str)
            and 0 < len(address_type) <= MAX_ADDRESS_TYPE
            and storable(address_type)
        ):
            address_type = DEFAULT_ADDRESS_TYPE
        if await _opted_out(ctx.engine, ctx.conversation.account_key, address_type, to_addr):
            raise ApiError(400, f"Recipient with {address_type} {to_addr} has opted out")
    validate(payload, SEND_CHECKS)
    content = payload.get("content")
    check_length(content, ApiConfig.of(ctx.conversation).content_length_limit)
    return ctx.send_to(payload["to_addr"], content, endpoint="default")


async def _reply(ctx: AppContext, payload: dict[str, Any], in_reply_to: Any) -> UserMessage:
    invalid = ApiError(400, "Invalid in_reply_to value")
    if not (isinstance(in_reply_to, str) and len(in_reply_to) <= MAX_MESSAGE_ID):
        raise invalid
    if not storable(in_reply_to):
        raise invalid
    async with ctx.engine.db.sessions() as session:
        record = await store.get_message(session, in_reply_to)
    if record is None or record.direction != store.INBOUND:
        raise invalid
    go = record.message.helper_metadata.get("go")
    if not isinstance(go, dict) or go.get("conversation_key") != ctx.conversation.key:
        raise invalid
    validate(payload, REPLY_CHECKS)
    content = payload.get("content")
    check_length(content, ApiConfig.of(ctx.conversation).content_length_limit)
    reply = ctx.reply_to(
        record.message, content, continue_session=payload.get("session_event") != "close"
    )
    # The one piece of the client's helper_metadata the original passed on.
    helper_metadata = payload.get("helper_metadata")
    if isinstance(helper_metadata, dict) and helper_metadata.get("load_balancer") is not None:
        reply.helper_metadata["load_balancer"] = copy.deepcopy(helper_metadata["load_balancer"])
    return reply
