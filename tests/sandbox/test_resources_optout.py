"""Protocol conformance of the ``optout`` resource: every command and error path, on SQLite and
PostgreSQL, through the real dispatch."""

from __future__ import annotations

import pytest

from tests.apps.jsbox.resource_helpers import dispatcher, fails, ok, run_for, two_accounts
from vumigo.db.engine import Database
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources.optout import NOT_ALLOWED, OptOutResource
from vumigo.sandbox.run import Run

ADDRESS = {"address_type": "msisdn", "address_value": "+27831234567"}


@pytest.fixture
def optout(db: Database) -> ProtocolHandler:
    return dispatcher(OptOutResource(db))


@pytest.fixture
async def accounts(db: Database) -> tuple[Run, Run]:
    allowed, not_allowed = await two_accounts(db, can_manage_optouts=True)
    return run_for(allowed), run_for(not_allowed)


async def test_opt_out_status_and_cancel(
    optout: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, _ = accounts
    assert await ok(optout, "optout.status", run, **ADDRESS) == {"opted_out": False}
    done = await ok(optout, "optout.optout", run, **ADDRESS, message_id="msg-1")
    assert done["opted_out"] is True and done["message_id"] == "msg-1"
    assert len(done["created_at"]) == 26
    assert await ok(optout, "optout.status", run, **ADDRESS) == done
    # Opting out again keeps the first record.
    assert await ok(optout, "optout.optout", run, **ADDRESS, message_id="msg-2") == done
    assert await ok(optout, "optout.count", run) == {"count": 1}
    assert await ok(optout, "optout.cancel_optout", run, **ADDRESS) == {"opted_out": False}
    assert await ok(optout, "optout.status", run, **ADDRESS) == {"opted_out": False}
    assert await ok(optout, "optout.count", run) == {"count": 0}
    # Cancelling when not opted out is fine.
    assert await ok(optout, "optout.cancel_optout", run, **ADDRESS) == {"opted_out": False}


async def test_opt_outs_are_per_account(db: Database, optout: ProtocolHandler) -> None:
    first, second = await two_accounts(db, can_manage_optouts=True)
    from sqlalchemy import update

    from vumigo.db.models import Account

    async with db.transaction() as session:
        await session.execute(
            update(Account).where(Account.key == second).values(can_manage_optouts=True)
        )
    await ok(optout, "optout.optout", run_for(first), **ADDRESS, message_id="m")
    assert await ok(optout, "optout.status", run_for(second), **ADDRESS) == {"opted_out": False}
    assert await ok(optout, "optout.count", run_for(second)) == {"count": 0}


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        ("optout.status", ADDRESS),
        ("optout.count", {}),
        ("optout.optout", {**ADDRESS, "message_id": "m"}),
        ("optout.cancel_optout", ADDRESS),
    ],
)
async def test_accounts_not_allowed_are_refused(
    optout: ProtocolHandler, accounts: tuple[Run, Run], command: str, fields: dict[str, str]
) -> None:
    _, not_allowed = accounts
    assert await fails(optout, command, not_allowed, **fields) == NOT_ALLOWED


@pytest.mark.parametrize(
    ("command", "required"),
    [
        ("optout.status", ("address_type", "address_value")),
        ("optout.optout", ("address_type", "address_value", "message_id")),
        ("optout.cancel_optout", ("address_type", "address_value")),
    ],
)
async def test_missing_and_empty_fields(
    optout: ProtocolHandler, accounts: tuple[Run, Run], command: str, required: tuple[str, ...]
) -> None:
    run, not_allowed = accounts
    full = {**ADDRESS, "message_id": "m"}
    for name in required:
        given = {k: v for k, v in full.items() if k in required and k != name}
        assert await fails(optout, command, run, **given) == f"Missing key: {name}"
        # Fields are checked before the permission, as in the original.
        assert await fails(optout, command, not_allowed, **given) == f"Missing key: {name}"
        for empty in ("", None, 0):
            reason = await fails(optout, command, run, **{**given, name: empty})
            assert reason == f'Invalid value "{empty}" for "{name}"'
    reason = await fails(optout, command, run, **{**full, "address_value": ["+2783"]})
    assert reason.startswith("Invalid value")


async def test_addresses_the_store_cannot_hold(
    optout: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, _ = accounts
    long = {"address_type": "msisdn", "address_value": "1" * 300}
    assert "Address must be" in await fails(optout, "optout.status", run, **long)
    assert "Address must be" in await fails(optout, "optout.optout", run, **long, message_id="m")
    assert "Address must be" in await fails(optout, "optout.cancel_optout", run, **long)


async def test_permission_check_can_be_replaced(db: Database) -> None:
    asked: list[str] = []

    async def allowed(account_key: str) -> bool:
        asked.append(account_key)
        return True

    first, _ = await two_accounts(db)
    handler = dispatcher(OptOutResource(db, allowed))
    assert await ok(handler, "optout.count", run_for(first)) == {"count": 0}
    assert asked == [first]


def test_every_command_is_documented() -> None:
    doc = OptOutResource.describe()
    assert doc.summary and {c.name for c in doc.commands} == {
        "status",
        "count",
        "optout",
        "cancel_optout",
    }
    assert all(NOT_ALLOWED in c.errors for c in doc.commands)
