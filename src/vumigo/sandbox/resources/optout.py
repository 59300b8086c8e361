"""The ``optout`` resource: read and change the account's opt-outs from an app.

Only accounts allowed to manage opt-outs (the ``can_manage_optouts`` flag) may use it; for any
other account every command fails with "Account not allowed to manage optouts.". The toolkit
has no wrapper for it, so apps call ``im.api_request('optout.status', {...})`` directly.

An opt-out is keyed by ``address_type`` (a contact address field; in practice ``msisdn``) and
``address_value`` (the address as stored, e.g. ``+27831234567``). An opted-out address gets no
new messages from the account's group sends and pushes; replies still reach it.

Required fields are checked before the permission, as in the original: a missing one gives
"Missing key: <name>", an empty one 'Invalid value "<value>" for "<name>"'. Times in replies
are UTC, formatted ``YYYY-MM-DD HH:MM:SS.ffffff``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from vumigo.contacts.optouts import count_optouts, delete_optout, get_optout, set_optout
from vumigo.db.engine import Database
from vumigo.db.models.accounts import Account
from vumigo.db.models.optouts import OptOut
from vumigo.errors import VumigoError
from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run

NOT_ALLOWED = "Account not allowed to manage optouts."
WIRE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

#: ``account_key -> whether it may manage opt-outs``; the engine passes a cached look-up.
Permission = Callable[[str], Awaitable[bool]]

_ADDRESS_FIELDS = {
    "address_type": "string: the kind of address, e.g. 'msisdn'",
    "address_value": "string: the address, e.g. '+27831234567'",
}
_PARAM_ERRORS = ("Missing key: <name>", 'Invalid value "<value>" for "<name>"')
_OPTED_OUT_REPLY = {
    "opted_out": "true",
    "created_at": "when the address opted out",
    "message_id": "the message that opted it out, or null",
}


def _params(request: Request, *names: str) -> list[str]:
    values: list[str] = []
    for name in names:
        if name not in request:
            raise ResourceError(f"Missing key: {name}")
        value = request[name]
        # The original refused any falsy value (null, false, 0, ""); strings are what fit.
        if not value or not isinstance(value, str):
            raise ResourceError(f'Invalid value "{value}" for "{name}"')
        values.append(value)
    return values


def _opted_out(optout: OptOut) -> Reply:
    return {
        "opted_out": True,
        "created_at": optout.created_at.strftime(WIRE_TIME_FORMAT),
        "message_id": optout.message_id,
    }


class OptOutResource(Resource):
    """Check, count, add and cancel the account's opt-outs (accounts allowed to only)."""

    name = "optout"
    limits = {"who may use it": "accounts with the can_manage_optouts flag (`vumigo account set`)"}

    def __init__(self, db: Database, allowed: Permission | None = None) -> None:
        self.db = db
        self.allowed = allowed or self._flag

    async def _flag(self, account_key: str) -> bool:
        async with self.db.sessions() as session:
            flag = await session.scalar(
                select(Account.can_manage_optouts).where(Account.key == account_key)
            )
        return bool(flag)

    async def _authorize(self, run: Run) -> None:
        if not await self.allowed(run.account_key):
            raise ResourceError(NOT_ALLOWED)

    @command(
        "Whether an address has opted out.",
        request=_ADDRESS_FIELDS,
        reply={
            "opted_out": "boolean",
            "created_at": "when it opted out (only when opted out)",
            "message_id": "the message that opted it out, or null (only when opted out)",
        },
        errors=(*_PARAM_ERRORS, NOT_ALLOWED, "<invalid address text>"),
    )
    async def status(self, request: Request, run: Run) -> Reply:
        address_type, address = _params(request, "address_type", "address_value")
        await self._authorize(run)
        try:
            async with self.db.sessions() as session:
                optout = await get_optout(session, run.account_key, address_type, address)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None
        return {"opted_out": False} if optout is None else _opted_out(optout)

    @command(
        "How many opt-outs the account has.",
        reply={"count": "integer"},
        errors=(NOT_ALLOWED,),
    )
    async def count(self, request: Request, run: Run) -> Reply:
        await self._authorize(run)
        async with self.db.sessions() as session:
            return {"count": await count_optouts(session, run.account_key)}

    @command(
        "Opt an address out (opting out again keeps the first opt-out).",
        request={
            **_ADDRESS_FIELDS,
            "message_id": "string: the message that asked for it, kept for auditing",
        },
        reply=_OPTED_OUT_REPLY,
        errors=(*_PARAM_ERRORS, NOT_ALLOWED, "<invalid address text>"),
    )
    async def optout(self, request: Request, run: Run) -> Reply:
        address_type, address, message_id = _params(
            request, "address_type", "address_value", "message_id"
        )
        await self._authorize(run)
        try:
            async with self.db.transaction() as session:
                optout = await set_optout(
                    session, run.account_key, address_type, address, message_id[:64]
                )
                return _opted_out(optout)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None

    @command(
        "Cancel an address's opt-out (opt it back in); fine if it was not opted out.",
        request=_ADDRESS_FIELDS,
        reply={"opted_out": "false"},
        errors=(*_PARAM_ERRORS, NOT_ALLOWED, "<invalid address text>"),
    )
    async def cancel_optout(self, request: Request, run: Run) -> Reply:
        address_type, address = _params(request, "address_type", "address_value")
        await self._authorize(run)
        try:
            async with self.db.transaction() as session:
                await delete_optout(session, run.account_key, address_type, address)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None
        return {"opted_out": False}
