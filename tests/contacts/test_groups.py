"""Static and smart groups, conversation groups, and streaming recipients."""

from __future__ import annotations

import pytest

from tests.support.factories import make_conversation
from vumigo.contacts import audience, groups, service
from vumigo.contacts.optouts import set_optout
from vumigo.db.engine import Database
from vumigo.errors import InvalidInput, NotFound


async def _people(db: Database, account: str) -> dict[str, str]:
    """Six contacts; returns name → key."""
    rows = [
        ("ann", "+27820000001", "CPT", None),
        ("ben", "+27820000002", "JHB", None),
        ("cat", "+27820000003", "CPT", "@cat"),
        ("dan", None, "CPT", "@dan"),
        ("eve", "+27820000001", "DBN", None),  # shares ann's number, and is newer
        ("fay", "+27820000006", None, None),
    ]
    keys = {}
    async with db.transaction() as s:
        for name, msisdn, city, twitter in rows:
            extra = {"city": city} if city else {}
            contact = await service.create_contact(
                s, account, name=name, msisdn=msisdn, twitter_handle=twitter, extra=extra
            )
            keys[name] = contact.key
    return keys


async def _names(db: Database, account: str, pairs: list[tuple[str, str]]) -> list[str]:
    async with db.sessions() as s:
        return [(await service.get_contact(s, account, key)).name or "" for key, _ in pairs]


async def test_static_and_smart_group_members(db: Database, account: str) -> None:
    keys = await _people(db, account)
    async with db.transaction() as s:
        static = await groups.create_group(s, account, "static")
        await groups.add_to_group(s, account, static.key, [keys["ann"], keys["fay"]])
        await groups.add_to_group(s, account, static.key, [keys["ann"]])  # already there: fine
        smart = await groups.create_group(s, account, "capetown", "extras-city:CPT")
        # A smart group may have static members too; they count once.
        await groups.add_to_group(s, account, smart.key, [keys["ann"], keys["fay"]])
    async with db.sessions() as s:
        members = await groups.group_contacts(s, account, static.key)
        assert sorted(c.name or "" for c in members) == ["ann", "fay"]
        members = await groups.group_contacts(s, account, smart.key)
        assert sorted(c.name or "" for c in members) == ["ann", "cat", "dan", "fay"]
        assert await groups.count_group_contacts(s, account, smart.key) == 4
        # Paging in key order covers everyone once.
        page1 = await groups.group_contacts(s, account, smart.key, limit=2)
        page2 = await groups.group_contacts(s, account, smart.key, after=page1[-1].key, limit=2)
        assert len({c.key for c in page1 + page2}) == 4
    # Smart groups are live: a new Capetonian is a member at once.
    async with db.transaction() as s:
        await service.create_contact(s, account, name="gus", extra={"city": "CPT"})
        assert await groups.count_group_contacts(s, account, smart.key) == 5
        await groups.remove_from_group(s, account, static.key, [keys["fay"]])
        assert await groups.count_group_contacts(s, account, static.key) == 1


async def test_group_data_checks(db: Database, account: str, other_account: str) -> None:
    async with db.transaction() as s:
        with pytest.raises(InvalidInput, match="Group name is required"):
            await groups.create_group(s, account, "  ")
        with pytest.raises(InvalidInput, match="Invalid query"):
            await groups.create_group(s, account, "bad", "name:(")
        with pytest.raises(InvalidInput, match="Invalid group fields: colour"):
            groups.clean_group_data({"name": "x", "colour": "red"}, creating=True)
        theirs = await groups.create_group(s, other_account, "theirs")
        mine = await groups.create_group(s, account, "mine")
        contact = await service.create_contact(s, other_account, name="x")
    async with db.transaction() as s:
        with pytest.raises(NotFound):
            await groups.get_group(s, account, theirs.key)
        with pytest.raises(NotFound):
            await groups.delete_group(s, account, theirs.key)
        with pytest.raises(InvalidInput, match="not found"):
            await groups.add_to_group(s, account, mine.key, [contact.key])
        updated = await groups.update_group(s, account, mine.key, {"query": "name:x"})
        assert updated.query == "name:x" and updated.name == "mine"
        assert [g.key for g in await groups.groups_named(s, account, "mine")] == [mine.key]


async def test_recipients_union_order_dedupe_and_optouts(db: Database, account: str) -> None:
    keys = await _people(db, account)
    async with db.transaction() as s:
        static = await groups.create_group(s, account, "static")
        await groups.add_to_group(s, account, static.key, [keys["ann"], keys["eve"], keys["fay"]])
        smart = await groups.create_group(s, account, "capetown", "extras-city:CPT")
        both = [static.key, smart.key]
    async with db.sessions() as s:
        # Union of the groups, once each, by address then newest first; dan has no msisdn.
        pairs = [p async for p in audience.recipients(s, account, both, "sms", batch_size=2)]
        assert await _names(db, account, pairs) == ["eve", "ann", "cat", "fay"]
        assert [a for _, a in pairs] == sorted(a for _, a in pairs)
        assert await audience.count_recipients(s, account, both, "sms") == 4
        # One message per address: the newest contact (eve) has it.
        deduped = [
            p async for p in audience.recipients(s, account, both, "sms", dedupe=True, batch_size=1)
        ]
        assert await _names(db, account, deduped) == ["eve", "cat", "fay"]
        assert await audience.count_recipients(s, account, both, "sms", dedupe=True) == 3
        twitter = [p async for p in audience.recipients(s, account, both, "twitter")]
        assert twitter == [(keys["cat"], "@cat"), (keys["dan"], "@dan")]
    async with db.transaction() as s:
        await set_optout(s, account, "msisdn", "+27820000003")
        await set_optout(s, account, "twitter_handle", "@dan")
    async with db.sessions() as s:
        kept = [p async for p in audience.recipients(s, account, both, "sms", skip_opted_out=True)]
        assert await _names(db, account, kept) == ["eve", "ann", "fay"]
        kept = [
            p async for p in audience.recipients(s, account, both, "twitter", skip_opted_out=True)
        ]
        assert kept == [(keys["cat"], "@cat")]
        assert [p async for p in audience.recipients(s, account, [], "sms")] == []
        with pytest.raises(NotFound):
            _ = [p async for p in audience.recipients(s, account, ["nope"], "sms")]


async def test_conversation_recipients_are_the_union_of_its_groups(
    db: Database, account: str, other_account: str
) -> None:
    keys = await _people(db, account)
    conversation = await make_conversation(db, account, "bulk_message")
    async with db.transaction() as s:
        jhb = await groups.create_group(s, account, "jhb", "extras-city:JHB")
        dbn = await groups.create_group(s, account, "dbn", 'extras-city:"DBN"')
        theirs = await groups.create_group(s, other_account, "theirs")
        with pytest.raises(NotFound):
            await groups.set_conversation_groups(s, account, conversation, [theirs.key])
        with pytest.raises(NotFound):
            await groups.set_conversation_groups(s, other_account, conversation, [theirs.key])
        await groups.set_conversation_groups(s, account, conversation, [jhb.key, dbn.key])
    async with db.sessions() as s:
        assert await groups.conversation_group_keys(s, account, conversation) == sorted(
            [jhb.key, dbn.key]
        )
        pairs = [p async for p in audience.conversation_recipients(s, account, conversation, "sms")]
        assert pairs == [(keys["eve"], "+27820000001"), (keys["ben"], "+27820000002")]
        assert await groups.conversation_group_keys(s, other_account, conversation) == []
    async with db.transaction() as s:
        await groups.delete_group(s, account, jhb.key)
    async with db.sessions() as s:
        assert await groups.conversation_group_keys(s, account, conversation) == [dbn.key]
