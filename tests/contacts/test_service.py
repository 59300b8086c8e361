"""Contact CRUD, validation, address lookups (newest wins) and account isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vumigo.contacts import service
from vumigo.contacts.groups import create_group
from vumigo.db.engine import Database
from vumigo.errors import InvalidInput, NotFound


async def test_create_get_update_delete(db: Database, account: str) -> None:
    async with db.transaction() as s:
        group = await create_group(s, account, "Friends")
        contact = await service.create_contact(
            s,
            account,
            {"name": "Thandi", "msisdn": "+27821234567", "extra": {"city": "CPT"}},
            groups=[group.key],
        )
        key = contact.key
    async with db.transaction() as s:
        got = await service.get_contact(s, account, key)
        assert (got.name, got.msisdn, got.extra) == ("Thandi", "+27821234567", {"city": "CPT"})
        assert (await service.groups_of(s, [key]))[key] == [group.key]
        updated = await service.update_contact(
            s, account, key, {"surname": "Nkosi", "extra": {"lang": "zu"}, "groups": []}
        )
        # PUT is a PATCH: untouched fields stay; the extra map is replaced as a whole.
        assert (updated.name, updated.surname, updated.extra) == ("Thandi", "Nkosi", {"lang": "zu"})
        assert (await service.groups_of(s, [key]))[key] == []
        assert await service.count_contacts(s, account, query="extras-lang:zu") == 1
        assert await service.count_contacts(s, account, query="extras-city:CPT") == 0
    async with db.transaction() as s:
        await service.delete_contact(s, account, key)
    async with db.transaction() as s:
        with pytest.raises(NotFound, match=f"Contact '{key}' not found."):
            await service.get_contact(s, account, key)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nickname": "x", "age": 3}, "Invalid contact fields: age, nickname"),
        ({"key": "abc"}, "Invalid contact fields: key"),
        ({"name": 5}, "Field 'name' must be a string."),
        ({"name": "x" * 256}, "Field 'name' is too long"),
        ({"name": "a\x00b"}, "NUL character"),
        ({"name": "\ud800"}, "invalid Unicode"),
        ({"extra": {"a": 1}}, "Field 'extra.a' must be a string."),
        ({"extra": ["a"]}, "Field 'extra' must be an object"),
        ({"extra": {"": "x"}}, "empty key"),
        ({"extra": {"k": "v" * 501}}, "too long"),
        ({"groups": "g1"}, "Field 'groups' must be a list"),
        ({"groups": ["nope"]}, "Group 'nope' not found."),
        ({"created_at": "yesterday"}, "Field 'created_at' must look like"),
    ],
)
async def test_bad_contact_data_is_refused(
    db: Database, account: str, data: dict[str, object], message: str
) -> None:
    async with db.transaction() as s:
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace("[", r"\[")):
            await service.create_contact(s, account, data)


async def test_lookup_by_address_newest_wins(db: Database, account: str) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    async with db.transaction() as s:
        first = await service.create_contact(
            s, account, {"msisdn": "+27821234567", "name": "old"}, created_at="2020-01-01 00:00:00"
        )
        newer = await service.create_contact(s, account, {"msisdn": "+27821234567", "name": "new"})
        await service.create_contact(s, account, {"gtalk_id": "ann@example.org"})
    assert first.created_at == old and newer.created_at > old + timedelta(days=1)
    async with db.transaction() as s:
        for delivery_class in ("sms", "ussd", "voice"):
            found = await service.find_by_address(s, account, delivery_class, "+27821234567")
            assert found is not None and found.name == "new"
        # Bare digits gain the + that stored E.164 numbers have.
        found = await service.find_by_address(s, account, "sms", "27821234567")
        assert found is not None and found.key == newer.key
        # gtalk addresses lose their /resource.
        found = await service.find_by_address(s, account, "gtalk", "ann@example.org/phone")
        assert found is not None and found.gtalk_id == "ann@example.org"
        assert await service.find_by_address(s, account, "twitter", "@nobody") is None
        with pytest.raises(InvalidInput, match="Unknown delivery class"):
            await service.find_by_address(s, account, "pigeon", "x")


async def test_get_or_create_by_address(db: Database, account: str) -> None:
    async with db.transaction() as s:
        made, created = await service.get_or_create_by_address(s, account, "twitter", "@ann")
        assert created and made.twitter_handle == "@ann" and made.msisdn == "unknown"
        again, created = await service.get_or_create_by_address(s, account, "twitter", "@ann")
        assert not created and again.key == made.key
        sms, created = await service.get_or_create_by_address(s, account, "sms", "+27829999999")
        assert created and sms.msisdn == "+27829999999"


async def test_accounts_never_see_each_other(
    db: Database, account: str, other_account: str
) -> None:
    async with db.transaction() as s:
        theirs = await service.create_contact(s, other_account, {"msisdn": "+27821111111"})
        group = await create_group(s, other_account, "theirs")
    async with db.transaction() as s:
        assert await service.find_contact(s, account, theirs.key) is None
        with pytest.raises(NotFound):
            await service.update_contact(s, account, theirs.key, {"name": "mine now"})
        with pytest.raises(NotFound):
            await service.delete_contact(s, account, theirs.key)
        assert await service.find_by_address(s, account, "sms", "+27821111111") is None
        assert await service.list_contacts(s, account) == []
        with pytest.raises(InvalidInput, match="not found"):
            await service.create_contact(s, account, {"groups": [group.key]})
    async with db.transaction() as s:
        assert (await service.get_contact(s, other_account, theirs.key)).name is None


async def test_implausible_keys_are_just_not_found(db: Database, account: str) -> None:
    async with db.transaction() as s:
        for key in ("", "x" * 500, "a\x00b"):
            assert await service.find_contact(s, account, key) is None
