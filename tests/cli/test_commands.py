"""The remaining commands, each once in its text and JSON forms, and --help everywhere."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
import pytest

from tests.cli.conftest import Vumigo
from vumigo.accounts.users import authenticate
from vumigo.cli import cli
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade


def _all_commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _all_commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("path", _all_commands(cli), ids=lambda p: " ".join(p) or "vumigo")
def test_every_command_has_help(vumigo: Vumigo, path: tuple[str, ...]) -> None:
    result = vumigo(*path, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: vumigo")


def _account(run: Vumigo, email: str = "a@example.org") -> str:
    return run.ok("user", "create", "--email", email, "--password", "pw")


def test_users_accounts_and_flags(vumigo: Vumigo) -> None:
    made = json.loads(
        vumigo.ok("--json", "user", "create", "--email", "B@Example.org", "--password", "one",
                  "--name", "Bo", "--surname", "Ng", "--admin")
    )  # fmt: skip
    key = made["account_key"]
    assert made["email"] == "b@example.org"
    assert vumigo.ok("user", "set-password", "--email", "b@example.org", "--password", "two")
    assert vumigo.ok("account", "set", "--account", key, "--flag", "is_developer") == (
        f"{key} flags: is_developer"
    )
    vumigo.ok("account", "set", "--account", key, "--flag", "can_manage_optouts")
    vumigo.ok("account", "set", "--account", key, "--flag", "is_developer", "--off")
    listed = json.loads(vumigo.ok("account", "list", "--json"))
    assert listed[0]["flags"] == ["can_manage_optouts"]
    assert "pools" not in listed[0]
    assert vumigo.ok("account", "list").splitlines()[0] == f"{key}  b@example.org  Bo Ng"

    async def check() -> None:
        db = Database(vumigo.url)
        async with db.transaction() as session:
            assert await authenticate(session, "b@example.org", "two") is not None
            assert await authenticate(session, "b@example.org", "one") is None
        await db.dispose()

    asyncio.run(check())


def test_tokens(vumigo: Vumigo) -> None:
    key = _account(vumigo)
    token = vumigo.ok("token", "create", "--account", key, "--name", "ci")
    assert len(token) > 40 and "\n" not in token
    listed = json.loads(vumigo.ok("token", "list", "--account", key, "--json"))
    assert [(t["name"], t["prefix"], t["revoked_at"]) for t in listed] == [("ci", token[:8], None)]
    assert "live" in vumigo.ok("token", "list", "--account", key)
    assert vumigo.ok("token", "revoke", "--account", key, "--id", str(listed[0]["id"])) == (
        f"token {listed[0]['id']} revoked"
    )
    assert "revoked" in vumigo.ok("token", "list", "--account", key).splitlines()[1]


def test_app_permissions(vumigo: Vumigo) -> None:
    key = _account(vumigo)
    assert vumigo.ok("app", "enable", "--account", key, "--type", "jsbox") == (
        f"jsbox enabled for {key}"
    )
    again = json.loads(vumigo.ok("app", "enable", "--account", key, "--type", "jsbox", "--json"))
    assert again == {"account_key": key, "type": "jsbox", "enabled": True, "changed": False}
    assert vumigo.ok("app", "disable", "--account", key, "--type", "go.apps.jsbox") == (
        f"jsbox disabled for {key}"
    )
    assert "already disabled" in vumigo.ok("app", "disable", "--account", key, "--type", "jsbox")


def test_tagpools_from_a_file_and_their_lifecycle(vumigo: Vumigo, tmp_path: Path) -> None:
    pools = tmp_path / "tagpools.yaml"
    pools.write_text(
        "pools:\n"
        "  ussd:\n"
        "    tags: '[\"*120*%d#\" % i for i in range(10, 10 + 3)]'\n"
        "    metadata:\n"
        "      display_name: USSD code\n"
        "      transport_type: ussd\n"
        "      supports: {generic_sends: false, replies: true}\n"
        "      smpp: {host: smsc.example.org, port: 2775}\n"
        "      msg_options: {transport_name: ussd_transport}\n"
    )
    made = json.loads(
        vumigo.ok("tagpool", "create", "ussd", "--file", str(pools), "--meta", "smpp.port=2776",
                  "--meta", "extra={\"a\": [1]}", "--json")
    )  # fmt: skip
    assert made["tags"] == 3
    assert made["meta"] == {
        "display_name": "USSD code",
        "transport_type": "ussd",
        "transport_name": "ussd_transport",
        "msg_options.transport_name": "ussd_transport",
        "supports.generic_sends": False,
        "supports.replies": True,
        "smpp.host": "smsc.example.org",
        "smpp.port": 2776,
        "extra.a": [1],
    }
    assert vumigo.ok("tagpool", "add-tags", "ussd", "--tags", "*120*12#,*120*13#") == (
        "added 1 tag(s) to ussd, 1 already there"
    )
    assert "country_name = 'ZA'" in vumigo.ok("tagpool", "set-meta", "ussd", "--meta",
                                              "country_name=ZA")  # fmt: skip
    key = _account(vumigo)
    assert vumigo.ok(
        "tagpool", "assign", "--account", key, "--pool", "ussd", "--max-keys", "0"
    ) == (f"{key} may hold any number of tag(s) of ussd")
    assert vumigo.ok("channel", "acquire", "--account", key, "--pool", "ussd", "--tag",
                     "*120*12#") == "ussd:*120*12#"  # fmt: skip
    listed = json.loads(vumigo.ok("tagpool", "list", "--json"))
    assert [(p["pool"], p["total"], p["free"], p["in_use"]) for p in listed] == [("ussd", 4, 3, 1)]
    channels = json.loads(vumigo.ok("channel", "list", "--account", key, "--json"))
    assert [(c["channel"], c["display_name"]) for c in channels] == [("ussd:*120*12#", "USSD code")]
    assert "ussd:*120*12#  USSD code" in vumigo.ok("channel", "list", "--account", key)
    assert vumigo.ok("channel", "release", "--account", key, "--channel", "ussd:*120*12#") == (
        "released ussd:*120*12# (0 routing entries removed)"
    )
    vumigo.ok("tagpool", "assign", "--account", key, "--pool", "ussd", "--remove")
    assert vumigo.ok("tagpool", "purge", "ussd") == "purged tagpool ussd (4 tag(s))"
    assert vumigo.ok("tagpool", "list") == "no tagpools"


def test_conversation_commands(vumigo: Vumigo, tmp_path: Path) -> None:
    key = _account(vumigo)
    vumigo.ok("app", "enable", "--account", key, "--type", "jsbox")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"jsbox": {"javascript": "api.done()"}}))
    conv = vumigo.ok("conversation", "create", "--account", key, "--type", "jsbox", "--name",
                     "App", "--description", "d", "--config-file", str(config), "--endpoint",
                     "sms")  # fmt: skip
    shown = vumigo.ok("conversation", "show", conv, "--account", key)
    assert "endpoints: default, sms" in shown
    assert '"javascript": "api.done()"' in shown
    assert (
        vumigo.ok("conversation", "list", "--account", key)
        .splitlines()[1]
        .startswith(f"{conv}  jsbox  stopped")
    )
    vumigo.ok("conversation", "start", conv)
    assert vumigo.ok("conversation", "list", "--account", key, "--status", "stopped") == "none"
    assert vumigo.ok("conversation", "stop", conv, "--account", key) == f"stopped {conv}"
    archived = json.loads(vumigo.ok("conversation", "archive", conv, "--json"))
    assert archived == {
        "key": conv, "status": "stopped", "archived": True, "routing_entries_removed": 0
    }  # fmt: skip
    assert vumigo.ok("conversation", "list", "--account", key) == "none"
    everything = json.loads(vumigo.ok("conversation", "list", "--account", key, "--all", "--json"))
    assert [c["key"] for c in everything] == [conv]
    assert vumigo.ok("router", "list", "--account", key) == "none"


def test_routing_remove_and_clear(vumigo: Vumigo) -> None:
    key = _account(vumigo)
    vumigo.ok("tagpool", "create", "p", "--tags", "a,b")
    vumigo.ok("tagpool", "assign", "--account", key, "--pool", "p", "--max-keys", "0")
    vumigo.ok("channel", "acquire", "--account", key, "--pool", "p")
    vumigo.ok("app", "enable", "--account", key, "--type", "opt_out")
    conv = vumigo.ok("conversation", "create", "--account", key, "--type", "opt_out", "--name", "o")
    tag, target = "TRANSPORT_TAG:p:a", f"CONVERSATION:opt_out:{conv}"
    vumigo.ok("routing", "add", "--account", key, tag, "default", target, "default")
    assert "was already there" in vumigo.ok(
        "routing", "add", "--account", key, tag, "default", target, "default"
    )
    vumigo.ok("routing", "add", "--account", key, target, "default", tag, "default")
    vumigo.ok("routing", "remove", "--account", key, tag, "default", target, "default")
    assert vumigo.ok("routing", "show", "--account", key) == (
        f"{target} [default] -> {tag} [default]"
    )
    assert vumigo.ok("routing", "clear", "--account", key) == "removed 1 routing entry"
    assert vumigo.ok("routing", "show", "--account", key) == "no routing entries"


def test_demo_is_idempotent(vumigo: Vumigo) -> None:
    first = vumigo.ok("demo")
    assert "created: user demo@example.org with password 'demo'" in first
    assert "created: channel dev:default10001" in first
    second = json.loads(vumigo.ok("demo", "--json"))
    assert second["created"] == []
    assert second["password"] == "demo"
    assert second["channel"] == "dev:default10001"
    pools = json.loads(vumigo.ok("tagpool", "list", "--json"))
    assert [(p["pool"], p["total"], p["in_use"]) for p in pools] == [("dev", 10, 1)]
    assert pools[0]["meta"]["user_selects_tag"] is True
    assert pools[0]["meta"]["transport_type"] == "dev"
    accounts = json.loads(vumigo.ok("account", "list", "--show-pools", "--json"))
    assert accounts[0]["pools"] == [{"pool": "dev", "max_keys": None, "held": 1}]


def test_migrate_and_schema_checks(tmp_path: Path) -> None:
    run = Vumigo(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}", tmp_path / "var")
    assert "is at revision" in run.ok("migrate")
    again = json.loads(run.ok("migrate", "--json"))
    assert again["database"].endswith("fresh.db") and again["revisions"]
    assert run.ok("tagpool", "list") == "no tagpools"

    behind = Vumigo(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", tmp_path / "var")

    async def migrate_to_first() -> None:
        db = Database(behind.url)
        await upgrade(db, "0001")
        await db.dispose()

    asyncio.run(migrate_to_first())
    result = behind("tagpool", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the database schema is at 0001 but this version needs")
    assert result.stderr.rstrip().endswith("run `vumigo migrate`")

    empty = Vumigo(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", tmp_path / "var")
    (tmp_path / "empty.db").touch()
    assert empty("token", "list", "--account", "x").stderr == (
        f"error: the database at {empty.url} has no schema; run `vumigo migrate`\n"
    )


def test_a_schema_newer_than_the_code_is_named(vumigo: Vumigo) -> None:
    async def pretend_newer() -> None:
        db = Database(vumigo.url)
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("DELETE FROM alembic_version")
            await connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('9999')")
        await db.dispose()

    asyncio.run(pretend_newer())
    result = vumigo("account", "list")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: the database schema (9999) is newer than this version of vumigo\n",
    )


def test_config_file_is_read(tmp_path: Path) -> None:
    config = tmp_path / "vumigo.toml"
    config.write_text(f'database_url = "sqlite+aiosqlite:///{tmp_path / "from-config.db"}"\n')
    run = Vumigo("", tmp_path / "var")
    result = run("--config", str(config), "migrate")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "from-config.db").exists()
    assert not (tmp_path / "var").exists()
