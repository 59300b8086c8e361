"""The opt-out service the message engine and the REST API use."""

from __future__ import annotations

import pytest

from vumigo.contacts import optouts
from vumigo.db.engine import Database
from vumigo.errors import Conflict, InvalidInput


async def test_set_get_count_delete(db: Database, account: str, other_account: str) -> None:
    async with db.transaction() as s:
        made = await optouts.set_optout(s, account, "msisdn", "+27821234567", "msg-1")
        assert (made.address, made.message_id) == ("+27821234567", "msg-1")
        # A repeated STOP keeps the first record.
        again = await optouts.set_optout(s, account, "msisdn", "+27821234567", "msg-2")
        assert (again.id, again.message_id) == (made.id, "msg-1")
        with pytest.raises(Conflict, match="Opt out already exists"):
            await optouts.set_optout(s, account, "msisdn", "+27821234567", exist_ok=False)
    async with db.transaction() as s:
        assert await optouts.is_opted_out(s, account, "msisdn", "+27821234567")
        assert not await optouts.is_opted_out(s, other_account, "msisdn", "+27821234567")
        assert not await optouts.is_opted_out(s, account, "msisdn", "x" * 1000)
        assert await optouts.count_optouts(s, account) == 1
        assert await optouts.count_optouts(s, other_account) == 0
        assert await optouts.opted_out_among(
            s, account, "msisdn", ["+27821234567", "+27820000000", ""]
        ) == {"+27821234567"}
        assert [o.address for o in await optouts.list_optouts(s, account)] == ["+27821234567"]
        assert await optouts.delete_optout(s, other_account, "msisdn", "+27821234567") is None
        removed = await optouts.delete_optout(s, account, "msisdn", "+27821234567")
        assert removed is not None and removed.address == "+27821234567"
        assert await optouts.get_optout(s, account, "msisdn", "+27821234567") is None


@pytest.mark.parametrize(
    ("address_type", "address"),
    [("", "+27"), ("msisdn", ""), ("t" * 33, "+27"), ("msisdn", "9" * 256), ("msisdn", "a\x00")],
)
async def test_unstorable_addresses_are_refused(
    db: Database, account: str, address_type: str, address: str
) -> None:
    async with db.transaction() as s:
        with pytest.raises(InvalidInput):
            await optouts.set_optout(s, account, address_type, address)
