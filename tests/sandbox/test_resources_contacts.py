"""Protocol conformance of the ``contacts`` resource: every command and error path, on SQLite
and PostgreSQL, through the real dispatch."""

from __future__ import annotations

import pytest

from tests.apps.jsbox.resource_helpers import dispatcher, fails, ok, run_for, two_accounts
from vumigo.contacts.groups import add_to_group, create_group
from vumigo.contacts.service import create_contact
from vumigo.db.engine import Database
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources.contacts import CONTACT_NOT_FOUND, ContactsResource
from vumigo.sandbox.run import Run


@pytest.fixture
def contacts(db: Database) -> ProtocolHandler:
    return dispatcher(ContactsResource(db))


@pytest.fixture
async def accounts(db: Database) -> tuple[Run, Run]:
    mine, other = await two_accounts(db)
    return run_for(mine), run_for(other)


async def add(db: Database, account: str, **fields: object) -> str:
    async with db.transaction() as session:
        return (await create_contact(session, account, fields)).key


async def group(db: Database, account: str, name: str, query: str | None = None) -> str:
    async with db.transaction() as session:
        return (await create_group(session, account, name, query)).key


async def test_get_returns_the_flat_contact(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, _ = accounts
    key = await add(
        db, run.account_key, msisdn="+27831234567", name="Anakin", extra={"beverage": "tea"}
    )
    staff = await group(db, run.account_key, "staff")
    async with db.transaction() as session:
        await add_to_group(session, run.account_key, staff, [key])
    reply = await ok(contacts, "contacts.get", run, addr="+27831234567", delivery_class="sms")
    contact = reply["contact"]
    assert contact["key"] == key and contact["user_account"] == run.account_key
    assert contact["name"] == "Anakin" and contact["msisdn"] == "+27831234567"
    assert contact["extras-beverage"] == "tea" and "extra" not in contact
    assert contact["groups"] == [staff]
    assert contact["surname"] is None and len(contact["created_at"]) == 26


async def test_get_defaults_to_ussd_and_normalises_bare_digits(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, _ = accounts
    await add(db, run.account_key, msisdn="+27831234567")
    reply = await ok(contacts, "contacts.get", run, addr="27831234567")
    assert reply["contact"]["msisdn"] == "+27831234567"


async def test_get_errors(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, other = accounts
    await add(db, other.account_key, msisdn="+2782")
    assert await fails(contacts, "contacts.get", run, addr="+2782") == CONTACT_NOT_FOUND
    assert "'addr'" in await fails(contacts, "contacts.get", run)
    assert "'addr'" in await fails(contacts, "contacts.get", run, addr=5)
    assert "'delivery_class'" in await fails(
        contacts, "contacts.get", run, addr="+2782", delivery_class=3
    )
    reason = await fails(contacts, "contacts.get", run, addr="+2782", delivery_class="pigeon")
    assert reason.startswith("Unknown delivery class 'pigeon'")


async def test_get_or_create(contacts: ProtocolHandler, accounts: tuple[Run, Run]) -> None:
    run, other = accounts
    made = await ok(contacts, "contacts.get_or_create", run, addr="+2783", delivery_class="ussd")
    assert made["created"] is True and made["contact"]["msisdn"] == "+2783"
    again = await ok(contacts, "contacts.get_or_create", run, addr="+2783", delivery_class="sms")
    assert again["created"] is False and again["contact"]["key"] == made["contact"]["key"]
    theirs = await ok(contacts, "contacts.get_or_create", other, addr="+2783")
    assert theirs["created"] is True and theirs["contact"]["key"] != made["contact"]["key"]
    assert "'addr'" in await fails(contacts, "contacts.get_or_create", run)
    assert "Unknown delivery class" in await fails(
        contacts, "contacts.get_or_create", run, addr="x", delivery_class="fax"
    )


async def test_contact_without_msisdn_shows_unknown(
    contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, _ = accounts
    made = await ok(
        contacts,
        "contacts.get_or_create",
        run,
        addr="luke@example.org/phone",
        delivery_class="gtalk",
    )
    # The toolkit refuses a contact whose msisdn is not a string.
    assert made["contact"]["msisdn"] == "unknown"
    assert made["contact"]["gtalk_id"] == "luke@example.org"


async def test_get_by_key(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, other = accounts
    key = await add(db, run.account_key, name="Leia")
    assert (await ok(contacts, "contacts.get_by_key", run, key=key))["contact"]["name"] == "Leia"
    assert await fails(contacts, "contacts.get_by_key", other, key=key) == CONTACT_NOT_FOUND
    assert await fails(contacts, "contacts.get_by_key", run, key="nope") == CONTACT_NOT_FOUND
    assert "'key'" in await fails(contacts, "contacts.get_by_key", run)


async def test_new_takes_nested_and_flat_extras(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, _ = accounts
    staff = await group(db, run.account_key, "staff")
    contact = {
        "name": "Han",
        "msisdn": "+2784",
        "extra": {"ship": "Falcon"},
        "extras-co": "Chewie",
        "subscription-news": "subscribed",
        "groups": [staff],
        "key": "ignored",
        "user_account": "ignored",
        "$VERSION": 2,
        "unknown_field": "ignored",
    }
    made = (await ok(contacts, "contacts.new", run, contact=contact))["contact"]
    assert made["key"] != "ignored" and made["user_account"] == run.account_key
    assert made["extras-ship"] == "Falcon" and made["extras-co"] == "Chewie"
    assert made["subscription-news"] == "subscribed" and made["groups"] == [staff]


async def test_new_errors(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, other = accounts
    theirs = await group(db, other.account_key, "theirs")
    assert "'contact'" in await fails(contacts, "contacts.new", run)
    assert "'contact'" in await fails(contacts, "contacts.new", run, contact="Han")
    reason = await fails(contacts, "contacts.new", run, contact={"groups": [theirs]})
    assert reason == f"Group '{theirs}' not found."
    assert "must be a string" in await fails(
        contacts, "contacts.new", run, contact={"extra": {"age": 30}}
    )
    assert "'extra'" in await fails(contacts, "contacts.new", run, contact={"extra": "x"})
    assert "too long" in await fails(contacts, "contacts.new", run, contact={"name": "x" * 300})


async def test_save_replaces_the_whole_contact(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, _ = accounts
    staff = await group(db, run.account_key, "staff")
    fans = await group(db, run.account_key, "fans")
    key = await add(
        db,
        run.account_key,
        msisdn="+2785",
        name="Luke",
        surname="Skywalker",
        extra={"registered": "false", "old": "x"},
        groups=[staff],
    )
    got = (await ok(contacts, "contacts.get_by_key", run, key=key))["contact"]
    # As the toolkit saves: its own nested form, with created_at and the like sent back.
    saved = {k: v for k, v in got.items() if not k.startswith("extras-")}
    saved.update(surname=None, extra={"registered": "true"}, groups=[fans])
    result = (await ok(contacts, "contacts.save", run, contact=saved))["contact"]
    assert result["name"] == "Luke" and result["surname"] is None
    assert result["extras-registered"] == "true" and "extras-old" not in result
    assert result["groups"] == [fans] and result["created_at"] == got["created_at"]
    # Anything not given is cleared.
    bare = (await ok(contacts, "contacts.save", run, contact={"key": key}))["contact"]
    assert bare["name"] is None and bare["groups"] == [] and bare["msisdn"] == "unknown"


async def test_save_keeps_a_missing_msisdn_missing(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, _ = accounts
    key = await add(db, run.account_key, twitter_handle="@luke")
    got = (await ok(contacts, "contacts.get_by_key", run, key=key))["contact"]
    assert got["msisdn"] == "unknown"
    await ok(contacts, "contacts.save", run, contact={**got, "name": "Luke"})
    search = await ok(contacts, "contacts.search", run, query="msisdn:*")
    assert search["keys"] == []  # still no MSISDN stored


async def test_save_errors(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, other = accounts
    key = await add(db, other.account_key, name="Theirs")
    assert "'contact'" in await fails(contacts, "contacts.save", run)
    assert "'key'" in await fails(contacts, "contacts.save", run, contact={"name": "x"})
    assert await fails(contacts, "contacts.save", run, contact={"key": key}) == CONTACT_NOT_FOUND
    mine = await add(db, run.account_key, name="Mine")
    reason = await fails(contacts, "contacts.save", run, contact={"key": mine, "groups": ["g"]})
    assert reason == "Group 'g' not found."
    # A failed save changes nothing.
    assert (await ok(contacts, "contacts.get_by_key", run, key=mine))["contact"]["name"] == "Mine"


async def test_update_changes_only_the_given_fields(
    db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, other = accounts
    key = await add(db, run.account_key, name="Rey", surname="?", extra={"a": "1", "b": "2"})
    reply = await ok(
        contacts,
        "contacts.update",
        run,
        key=key,
        fields={"surname": "Skywalker", "extra": {"c": "3"}},
    )
    contact = reply["contact"]
    assert contact["name"] == "Rey" and contact["surname"] == "Skywalker"
    assert contact["extras-c"] == "3" and "extras-a" not in contact  # a given map is replaced
    assert "'key'" in await fails(contacts, "contacts.update", run, fields={})
    assert "'fields'" in await fails(contacts, "contacts.update", run, key=key)
    assert await fails(contacts, "contacts.update", other, key=key, fields={}) == CONTACT_NOT_FOUND
    assert "must be a string" in await fails(
        contacts, "contacts.update", run, key=key, fields={"name": 7}
    )


@pytest.mark.parametrize(
    ("command", "prefix"),
    [("contacts.update_extras", "extras-"), ("contacts.update_subscriptions", "subscription-")],
)
async def test_update_maps_merge(
    db: Database,
    contacts: ProtocolHandler,
    accounts: tuple[Run, Run],
    command: str,
    prefix: str,
) -> None:
    run, other = accounts
    attr = "extra" if prefix == "extras-" else "subscription"
    key = await add(db, run.account_key, **{attr: {"a": "1", "b": "2"}})
    contact = (await ok(contacts, command, run, key=key, fields={"b": "20", "c": "3"}))["contact"]
    assert (contact[f"{prefix}a"], contact[f"{prefix}b"], contact[f"{prefix}c"]) == ("1", "20", "3")
    assert "strings" in await fails(contacts, command, run, key=key, fields={"n": 1})
    assert "'fields'" in await fails(contacts, command, run, key=key, fields=[1])
    assert "'key'" in await fails(contacts, command, run, fields={})
    assert await fails(contacts, command, other, key=key, fields={}) == CONTACT_NOT_FOUND


async def test_search(db: Database, contacts: ProtocolHandler, accounts: tuple[Run, Run]) -> None:
    run, other = accounts
    cpt = [await add(db, run.account_key, extra={"city": "CPT"}) for _ in range(3)]
    await add(db, run.account_key, extra={"city": "JHB"})
    await add(db, other.account_key, extra={"city": "CPT"})
    assert (await ok(contacts, "contacts.search", run, query="extras-city:CPT"))["keys"] == sorted(
        cpt
    )
    limited = await ok(contacts, "contacts.search", run, query="extras-city:CPT", max_keys=2)
    assert limited["keys"] == sorted(cpt)[:2]
    assert (await ok(contacts, "contacts.search", run, query="name:nobody"))["keys"] == []
    assert "Unknown field" in await fails(contacts, "contacts.search", run, query="colour:red")
    assert "Invalid query" in await fails(contacts, "contacts.search", run, query="name:(")
    assert "'query'" in await fails(contacts, "contacts.search", run)
    for bad in (0, -1, "5", True):
        assert "max_keys" in await fails(contacts, "contacts.search", run, query="*", max_keys=bad)


async def test_unknown_command_ends_the_run(contacts: ProtocolHandler) -> None:
    from vumigo.sandbox.resources import UnknownCommand

    with pytest.raises(UnknownCommand):
        await contacts.dispatch({"cmd": "contacts.delete", "cmd_id": "1"}, run_for("a"))


def test_every_command_is_documented() -> None:
    doc = ContactsResource.describe()
    assert doc.summary and {c.name for c in doc.commands} == {
        "get",
        "get_or_create",
        "get_by_key",
        "new",
        "save",
        "update",
        "update_extras",
        "update_subscriptions",
        "search",
    }
    assert all(c.summary and c.reply for c in doc.commands)
