"""Bad input to any command: one ``error:`` line on stderr, a non-zero status, nothing changed.

Each case runs against the same small world (see ``world``); ``{A}``, ``{B}``, ``{K}`` (A's
running conversation) and ``{K2}`` (A's stopped one) are filled in from it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.cli.conftest import Vumigo
from tests.support import service_factories as factories
from vumigo.accounts.users import create_user
from vumigo.channels.acquisition import acquire_tag
from vumigo.channels.tagpools import assign_pool
from vumigo.conversations.service import start_conversation
from vumigo.db.engine import Database
from vumigo.routing.table import add_entry


async def _build(url: str) -> dict[str, str]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            a = await create_user(session, "alice@example.org", "pw")
            b = await factories.account(session, "bob", apps=False)
            await factories.account(session, "no-apps", apps=False)
            await factories.enable_all(session, a.key)
            await factories.pool(session, grant=[a.key], max_keys=1)
            await assign_pool(session, b.key, "longcode", 0)
            await factories.pool(session, "private", ["p1"])
            await acquire_tag(session, a.key, "longcode", "t1")
            running = await factories.conversation(session, a.key)
            stopped = await factories.conversation(session, a.key, "jsbox")
            await start_conversation(session, a.key, running.key)
            tag, conv = "TRANSPORT_TAG:longcode:t1", f"CONVERSATION:bulk_message:{running.key}"
            await add_entry(session, a.key, tag, "default", conv, "default")
            return {"A": a.key, "B": b.key, "K": running.key, "K2": stopped.key}
    finally:
        await db.dispose()


@pytest.fixture
def world(vumigo: Vumigo) -> dict[str, str]:
    return asyncio.run(_build(vumigo.url))


TAG = "TRANSPORT_TAG:longcode:t1"
CONV = "CONVERSATION:bulk_message:{K}"

# fmt: off
CASES: list[tuple[str, list[str], int, str]] = [
    # (id, arguments, exit status, part of the message)
    ("unknown-account", ["channel", "acquire", "--account", "nope", "--pool", "longcode"], 1,
     "unknown account 'nope'"),
    ("pool-without-permission", ["channel", "acquire", "--account", "{A}", "--pool", "private"],
     1, "account {A} may not use pool private"),
    ("max-keys-exceeded", ["channel", "acquire", "--account", "{A}", "--pool", "longcode"], 1,
     "account {A} already holds 1 of 1 tags allowed in pool longcode"),
    ("tag-held-by-another", ["channel", "acquire", "--account", "{B}", "--pool", "longcode",
     "--tag", "t1"], 1, "tag longcode:t1 is held by another account"),
    ("duplicate-email", ["user", "create", "--email", "ALICE@example.org", "--password", "x"], 1,
     "a user with e-mail alice@example.org already exists"),
    ("bad-email", ["user", "create", "--email", "alice", "--password", "x"], 1,
     "invalid e-mail address 'alice'"),
    ("malformed-connector", ["routing", "add", "--account", "{A}", "TRANSPORT_TAG:longcode",
     "default", CONV, "default"], 1, "malformed connector 'TRANSPORT_TAG:longcode'"),
    ("unknown-connector-kind", ["routing", "add", "--account", "{A}", "SMS:x", "default", CONV,
     "default"], 1, "unknown kind 'SMS'"),
    ("same-direction", ["routing", "add", "--account", "{A}", CONV, "default",
     "CONVERSATION:jsbox:{K2}", "default"], 1, "an entry must join opposite directions"),
    ("second-target", ["routing", "add", "--account", "{A}", TAG, "default",
     "CONVERSATION:jsbox:{K2}", "default"], 1,
     "TRANSPORT_TAG:longcode:t1 [default] is already routed to CONVERSATION:bulk_message:{K}"),
    ("tag-not-held", ["routing", "add", "--account", "{A}", "TRANSPORT_TAG:longcode:t2",
     "default", CONV, "default"], 1, "account {A} does not hold channel longcode:t2"),
    ("other-accounts-conversation", ["routing", "add", "--account", "{B}", CONV, "default", TAG,
     "default"], 1, "account {B} has no conversation {K}"),
    ("undeclared-endpoint", ["routing", "add", "--account", "{A}", CONV, "sms", TAG, "default"],
     1, "has no endpoint 'sms'"),
    ("remove-missing-entry", ["routing", "remove", "--account", "{A}", CONV, "default", TAG,
     "default"], 1, "has no routing entry"),
    ("replace-missing-file", ["routing", "replace", "--account", "{A}", "--file", "nope.json"],
     2, "cannot read nope.json"),
    ("archive-running", ["conversation", "archive", "{K}"], 1,
     "Only stopped conversations can be archived"),
    ("start-running", ["conversation", "start", "{K}"], 1, "Conversation already running"),
    ("stop-stopped", ["conversation", "stop", "{K2}"], 1, "Conversation already stopped"),
    ("conversation-of-another-account", ["conversation", "stop", "{K}", "--account", "{B}"], 1,
     "account {B} has no conversation {K}"),
    ("unknown-conversation", ["conversation", "show", "nope"], 1, "unknown conversation 'nope'"),
    ("unknown-app-type", ["app", "enable", "--account", "{A}", "--type", "nope"], 1,
     "unknown app type 'nope'; known: app_multiplexer, bulk_message"),
    ("unknown-conversation-type", ["conversation", "create", "--account", "{A}", "--type",
     "keyword", "--name", "x"], 1, "unknown conversation type 'keyword'"),
    ("type-not-allowed", ["conversation", "create", "--account", "{B}", "--type", "jsbox",
     "--name", "x"], 1, "account {B} may not create conversations of type jsbox"),
    ("config-not-json", ["conversation", "create", "--account", "{A}", "--type", "jsbox",
     "--name", "x", "--config-file", "{tmp}/bad.json"], 2, "is not valid JSON"),
    ("purge-in-use", ["tagpool", "purge", "longcode"], 1,
     "tagpool longcode has 1 tag(s) in use"),
    ("purge-unknown", ["tagpool", "purge", "nope"], 1, "unknown tagpool 'nope'"),
    ("pool-exists", ["tagpool", "create", "longcode", "--tags", "x"], 1,
     "tagpool longcode already exists"),
    ("bad-range", ["tagpool", "create", "new", "--tag-range", "a:9-1"], 2, "END is before START"),
    ("bad-pool-name", ["tagpool", "create", "a:b", "--tags", "x"], 1, "invalid pool name"),
    ("no-tags-given", ["tagpool", "create", "new"], 2, "give exactly one of --tags"),
    ("bad-meta", ["tagpool", "create", "new", "--tags", "x", "--meta", "novalue"], 2,
     "expected KEY=VALUE"),
    ("bad-meta-type", ["tagpool", "create", "new", "--tags", "x", "--meta",
     "supports.replies=yes"], 1, "metadata supports.replies must be true or false"),
    ("file-without-pool", ["tagpool", "create", "other", "--file", "{tmp}/pools.yaml"], 2,
     "has no pool 'other' (it has: longcode2)"),
    ("negative-max-keys", ["tagpool", "assign", "--account", "{A}", "--pool", "private",
     "--max-keys", "-1"], 2, "-1 is not in the range x>=0"),
    ("assign-unknown-pool", ["tagpool", "assign", "--account", "{A}", "--pool", "nope",
     "--max-keys", "1"], 1, "unknown tagpool 'nope'"),
    ("remove-missing-permission", ["tagpool", "assign", "--account", "{A}", "--pool", "private",
     "--remove"], 1, "has no permission for tagpool private"),
    ("release-not-held", ["channel", "release", "--account", "{B}", "--channel",
     "longcode:t1"], 1, "account {B} does not hold longcode:t1"),
    ("release-bad-channel", ["channel", "release", "--account", "{A}", "--channel", "t1"], 2,
     "expected POOL:TAG"),
    ("token-unknown", ["token", "revoke", "--account", "{A}", "--id", "99"], 1,
     "no live token 99"),
    ("token-unknown-account", ["token", "create", "--account", "nope"], 1, "unknown account"),
    ("unknown-flag", ["account", "set", "--account", "{A}", "--flag", "is_admin"], 2,
     "'is_admin' is not one of"),
    ("missing-option", ["user", "create", "--email", "x@example.org"], 2,
     "Missing option '--password'"),
    ("unknown-option", ["tagpool", "list", "--colour"], 2,
     "No such option '--colour' (see 'vumigo tagpool list --help')"),
    ("unknown-command", ["frobnicate"], 2, "No such command 'frobnicate'"),
    ("missing-config", ["--config", "{tmp}/nope.toml", "tagpool", "list"], 2,
     "config file not found"),
]
# fmt: on


@pytest.mark.parametrize(("args", "status", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_input_is_one_line_and_changes_nothing(
    vumigo: Vumigo,
    world: dict[str, str],
    tmp_path: Path,
    args: list[str],
    status: int,
    message: str,
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "pools.yaml").write_text("pools:\n  longcode2:\n    tags: [a]\n")
    values = {**world, "tmp": str(tmp_path)}
    before = vumigo.snapshot()
    result = vumigo(*(arg.format(**values) for arg in args))
    assert result.exit_code == status, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message.format(**values) in lines[0]
    assert vumigo.snapshot() == before


def test_commands_refuse_a_database_without_schema(tmp_path: Path) -> None:
    empty = Vumigo(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", tmp_path / "var")
    asyncio.run(Database(empty.url).engine.dispose())  # the file does not exist yet
    result = empty("tagpool", "list")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: no database at {tmp_path / 'empty.db'}; run " + (
        "`vumigo migrate` first"
    )
    assert not (tmp_path / "empty.db").exists()
