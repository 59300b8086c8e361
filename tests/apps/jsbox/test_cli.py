"""`vumigo jsbox set-code|set-config|show|logs|send`, in-process against one database."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from tests.apps.helpers import give_groups, make_group
from tests.support.factories import make_account, make_conversation
from vumigo.apps.jsbox.logs import DbLogStore
from vumigo.cli import cli
from vumigo.db.engine import Database
from vumigo.db.models import Conversation, ScheduledTask

T = TypeVar("T")


def in_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Set-up and checks in their own event loop: the commands run theirs with asyncio.run."""

    async def go() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


class Vumigo:
    def __init__(self, url: str, data_dir: Path) -> None:
        self.env: dict[str, str | None] = {
            "VUMIGO_DATABASE_URL": url,
            "VUMIGO_DATA_DIR": str(data_dir),
            "VUMIGO_CONFIG": None,
        }

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, input=stdin)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self(*args, stdin=stdin)
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result.stdout


@pytest.fixture
def vumigo(sqlite_url: str, tmp_path: Path) -> Vumigo:
    return Vumigo(sqlite_url, tmp_path)


@pytest.fixture
def setup(sqlite_url: str) -> dict[str, str]:
    async def make(db: Database) -> dict[str, str]:
        account, _ = await make_account(db)
        other, _ = await make_account(db, name="Other")
        conv = await make_conversation(db, account, "jsbox", {"keep": "me"})
        static = await make_conversation(db, account, "static_reply", {})
        return {"account": account, "other": other, "conv": conv, "static": static}

    return in_db(sqlite_url, make)


def stored_config(url: str, conv: str) -> dict[str, Any]:
    async def read(db: Database) -> dict[str, Any]:
        async with db.sessions() as session:
            row = await session.get(Conversation, conv)
            assert row is not None
            return dict(row.config)

    return in_db(url, read)


def test_set_code_and_config(
    vumigo: Vumigo, setup: dict[str, str], sqlite_url: str, tmp_path: Path
) -> None:
    code = tmp_path / "app.js"
    code.write_text("api.on_inbound_message = function () { api.done(); };  // ü\n")
    conv = setup["conv"]
    out = vumigo.ok("jsbox", "set-code", conv, str(code), "--source-url", "https://x/app.js")
    assert f"code of {conv} set" in out
    app_config = tmp_path / "config.json"
    app_config.write_text(json.dumps({"name": "my_app", "process_events": True}))
    vumigo.ok("jsbox", "set-config", conv, "config", str(app_config))
    vumigo.ok("jsbox", "set-config", conv, "translation.af", "--value", "{}")
    vumigo.ok("jsbox", "set-config", conv, "poll", "-", stdin="plain text\n")
    config = stored_config(sqlite_url, conv)
    assert config["keep"] == "me"  # the rest of the config is untouched
    assert config["jsbox"] == {"javascript": code.read_text(), "source_url": "https://x/app.js"}
    values = config["jsbox_app_config"]
    assert json.loads(values["config"]["value"]) == {"name": "my_app", "process_events": True}
    assert values["translation.af"] == {"value": "{}", "source_url": ""}
    assert values["poll"]["value"] == "plain text\n"

    shown = vumigo.ok("jsbox", "show", conv)
    digest = hashlib.sha1(code.read_text().encode()).hexdigest()
    assert f"sha1 {digest}" in shown and "name          my_app" in shown
    assert "events        sent to the app" in shown
    data = json.loads(vumigo.ok("--json", "jsbox", "show", conv))
    assert data["code_sha1"] == digest and data["process_events"] is True
    assert sorted(data["app_config_keys"]) == ["config", "poll", "translation.af"]


def test_bad_input_changes_nothing(
    vumigo: Vumigo, setup: dict[str, str], sqlite_url: str, tmp_path: Path
) -> None:
    conv = setup["conv"]
    result = vumigo("jsbox", "set-config", conv, "config", "--value", "[1, 2]")
    assert result.exit_code == 1 and "must be a JSON object" in result.stderr
    result = vumigo("jsbox", "set-config", conv, "config", "--value", "{nope")
    assert result.exit_code == 1 and "must be JSON" in result.stderr
    result = vumigo("jsbox", "set-config", conv, "config")
    assert result.exit_code == 2 and "FILE or --value" in result.stderr
    result = vumigo("jsbox", "set-config", conv, "k", str(tmp_path / "x"), "--value", "v")
    assert result.exit_code == 2
    result = vumigo("jsbox", "set-code", conv, str(tmp_path / "missing.js"))
    assert result.exit_code == 2 and "cannot read" in result.stderr
    empty = tmp_path / "empty.js"
    empty.write_text("  \n")
    result = vumigo("jsbox", "set-code", conv, str(empty))
    assert result.exit_code == 1 and "empty" in result.stderr
    assert stored_config(sqlite_url, conv) == {"keep": "me"}


def test_conversation_checks(vumigo: Vumigo, setup: dict[str, str]) -> None:
    result = vumigo("jsbox", "show", setup["static"])
    assert result.exit_code == 1 and "not jsbox" in result.stderr
    result = vumigo("jsbox", "show", "no-such-conversation")
    assert result.exit_code == 1 and "unknown conversation" in result.stderr
    result = vumigo("jsbox", "show", setup["conv"], "--account", setup["other"])
    assert result.exit_code == 1 and "has no conversation" in result.stderr
    assert "code          none" in vumigo.ok(
        "jsbox", "show", setup["conv"], "--account", setup["account"]
    )


def test_logs(vumigo: Vumigo, setup: dict[str, str], sqlite_url: str) -> None:
    assert vumigo.ok("jsbox", "logs", setup["conv"]).strip() == "no log lines"

    async def write(db: Database) -> None:
        logs = DbLogStore(db)
        for i in range(5):
            await logs.append(setup["account"], setup["conv"], f"line {i}")
        await logs.close()

    in_db(sqlite_url, write)
    out = vumigo.ok("jsbox", "logs", setup["conv"], "--limit", "3")
    assert out.splitlines() == ["line 4", "line 3", "line 2"]
    assert json.loads(vumigo.ok("--json", "jsbox", "logs", setup["conv"]))[0] == "line 4"
    assert vumigo("jsbox", "logs", setup["conv"], "--limit", "0").exit_code == 2


def test_send_asks_for_a_push(vumigo: Vumigo, setup: dict[str, str], sqlite_url: str) -> None:
    conv = setup["conv"]
    result = vumigo("jsbox", "send", conv)
    assert result.exit_code == 1 and "This action needs a contact group." in result.stderr

    async def grouped(db: Database) -> None:
        group = await make_group(db, setup["account"], "Everyone")
        await give_groups(db, setup["account"], conv, [group])

    in_db(sqlite_url, grouped)
    out = vumigo.ok("jsbox", "send", conv, "--delivery-class", "ussd")
    task_id = out.split()[0]

    async def task(db: Database) -> ScheduledTask | None:
        async with db.sessions() as session:
            return await session.get(ScheduledTask, task_id)

    found = in_db(sqlite_url, task)
    assert found is not None and found.action == "send_jsbox"
    assert found.params == {"delivery_class": "ussd"} and found.status == "pending"
