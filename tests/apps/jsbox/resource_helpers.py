"""Helpers for the protocol conformance tests of the database-backed sandbox resources
(``tests/sandbox/test_resources_*.py``): requests go through the real protocol dispatch, so a
test sees exactly the reply an app would get."""

from __future__ import annotations

from typing import Any

from tests.support.factories import make_account, make_conversation
from vumigo.db.engine import Database
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources import Resource, ResourceRegistry
from vumigo.sandbox.run import Run, RunContext

ENVELOPE = ("cmd", "cmd_id", "reply", "run_id")


def dispatcher(*resources: Resource) -> ProtocolHandler:
    return ProtocolHandler(ResourceRegistry(list(resources)))


def run_for(account_key: str, conversation_key: str = "") -> Run:
    message = {"message_type": "user_message", "message_id": "m1", "from_addr": "+2781"}
    return Run(
        account_key=account_key,
        app_config={},
        message=message,
        context=RunContext(conversation_key=conversation_key),
    )


async def call(handler: ProtocolHandler, cmd: str, run: Run, **fields: Any) -> dict[str, Any]:
    """The reply's fields (without the envelope) to ``cmd`` with ``fields``."""
    reply = await handler.dispatch({"cmd": cmd, "cmd_id": "7", "reply": False, **fields}, run)
    assert reply is not None
    assert reply["cmd"] == cmd and reply["cmd_id"] == "7" and reply["reply"] is True
    return {k: v for k, v in reply.items() if k not in ENVELOPE}


async def ok(handler: ProtocolHandler, cmd: str, run: Run, **fields: Any) -> dict[str, Any]:
    reply = await call(handler, cmd, run, **fields)
    assert reply.pop("success") is True, reply
    return reply


async def fails(handler: ProtocolHandler, cmd: str, run: Run, **fields: Any) -> str:
    """The failure reason of a request that must fail."""
    reply = await call(handler, cmd, run, **fields)
    assert reply["success"] is False, reply
    assert set(reply) == {"success", "reason"}, reply
    reason: str = reply["reason"]
    return reason


async def two_accounts(db: Database, **flags: Any) -> tuple[str, str]:
    """Two accounts (the first with ``flags``), to show one never sees the other's data."""
    first, _ = await make_account(db, **flags)
    second, _ = await make_account(db, name="Other account")
    return first, second


async def jsbox_conversation(db: Database, account_key: str) -> str:
    return await make_conversation(db, account_key, "jsbox", {})
