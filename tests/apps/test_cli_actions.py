"""`vumigo conversation action|tasks|cancel-task|groups|configure|poll` and `router configure`.

The commands are mounted on stand-in groups here; the real ones get them at registration.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import pytest
from click.testing import CliRunner, Result

from tests.apps.helpers import channel, conversation, give_groups, make_group, make_router
from tests.apps.test_dialogue import POLL
from vumigo.apps.actions import NEEDS_CONFIRMATION
from vumigo.cli.actions import CONVERSATION_COMMANDS, ROUTER_COMMANDS, parse_time
from vumigo.cli.common import VumigoGroup
from vumigo.db.engine import Database
from vumigo.db.models import Conversation, Router, ScheduledTask

T = TypeVar("T")


@click.group(cls=VumigoGroup)
def root() -> None:
    pass


@root.group(cls=VumigoGroup)
def conversation_group() -> None:
    pass


@root.group(cls=VumigoGroup)
def router_group() -> None:
    pass


for command in CONVERSATION_COMMANDS:
    conversation_group.add_command(command)
for command in ROUTER_COMMANDS:
    router_group.add_command(command)


def in_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Runs set-up or checks in their own event loop: the commands run theirs with asyncio.run."""

    async def go() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


@pytest.fixture
def run(sqlite_url: str, tmp_path: Path) -> Any:
    def invoke(*args: str) -> Result:
        env = {"VUMIGO_DATABASE_URL": sqlite_url, "VUMIGO_DATA_DIR": str(tmp_path)}
        return CliRunner().invoke(root, list(args), env=env, catch_exceptions=False)

    return invoke


async def bulk(db: Database) -> tuple[str, str]:
    account, _ = await channel(db, ["10001"])
    conv = await conversation(db, account, "bulk_message", {}, tag="10001")
    return account, conv


async def get(db: Database, model: Any, key: str) -> Any:
    async with db.sessions() as session:
        return await session.get(model, key)


def test_action_schedules_a_task(sqlite_url: str, run: Any) -> None:
    async def setup(db: Database) -> str:
        account, conv = await bulk(db)
        await give_groups(db, account, conv, [await make_group(db, account, "All")])
        return conv

    conv = in_db(sqlite_url, setup)
    args = ["conversation", "action", conv, "bulk_send", "--param", "message=Hi there"]
    refused = run(*args)
    assert refused.exit_code == 1 and NEEDS_CONFIRMATION in refused.output
    assert "--yes" in refused.output
    made = run(*args, "--param", "dedupe=true", "--at", "2030-01-02T09:00", "--yes", "--json")
    assert made.exit_code == 0, made.output
    task = json.loads(made.output)
    assert task["params"] == {
        "message": "Hi there",
        "dedupe": True,
        "delivery_class": "sms",
        "window": 100,
    }
    stored = in_db(sqlite_url, lambda db: get(db, ScheduledTask, task["id"]))
    assert stored.due_at == datetime(2030, 1, 2, 9, tzinfo=UTC)
    listed = run("conversation", "tasks", conv)
    assert task["id"] in listed.output and "pending" in listed.output
    assert run("conversation", "cancel-task", task["id"]).exit_code == 0
    again = run("conversation", "cancel-task", task["id"])
    assert again.exit_code == 1 and "already cancelled" in again.output


def test_action_refused_without_groups(sqlite_url: str, run: Any) -> None:
    _account, conv = in_db(sqlite_url, bulk)
    result = run("conversation", "action", conv, "bulk_send", "--param", "message=x", "--yes")
    assert result.exit_code == 1 and "needs a contact group" in result.output
    unknown = run("conversation", "action", conv, "explode", "--yes")
    assert unknown.exit_code == 1 and "no action 'explode' (actions: bulk_send)" in unknown.output


def test_groups_add_and_remove_by_name_or_key(sqlite_url: str, run: Any) -> None:
    async def setup(db: Database) -> tuple[str, str, str]:
        account, conv = await bulk(db)
        first = await make_group(db, account, "Farmers")
        await make_group(db, account, "Teachers", "extras-job:teacher")
        return account, conv, first

    account, conv, first = in_db(sqlite_url, setup)
    added = run("conversation", "groups", conv, "--add", "Teachers", "--add", first)
    assert added.exit_code == 0, added.output
    assert "Farmers" in added.output and "smart" in added.output
    removed = run("conversation", "groups", conv, "--remove", "Farmers", "--json")
    assert [g["name"] for g in json.loads(removed.output)] == ["Teachers"]
    missing = run("conversation", "groups", conv, "--add", "Nobody")
    assert missing.exit_code == 1 and "no group called 'Nobody'" in missing.output
    in_db(sqlite_url, lambda db: make_group(db, account, "Teachers"))
    twice = run("conversation", "groups", conv, "--remove", "Teachers")
    assert twice.exit_code == 1 and "2 groups are called 'Teachers'" in twice.output


async def one_of(db: Database, kind: str, config: dict[str, Any]) -> str:
    account, _ = await channel(db, ["10001"])
    if kind == "app_multiplexer":
        return await make_router(db, account, kind, config)
    return await conversation(db, account, kind, config)


def test_configure_checks_the_config_for_the_type(
    sqlite_url: str, run: Any, tmp_path: Path
) -> None:
    seq = in_db(sqlite_url, lambda db: one_of(db, "sequential_send", {}))
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps({"schedule": {"recurring": "daily", "time": "08:00:00"}, "messages": ["a"]})
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schedule": {"recurring": "hourly"}, "messages": []}))
    assert run("conversation", "configure", seq, "--config-file", str(good)).exit_code == 0
    refused = run("conversation", "configure", seq, "--config-file", str(bad))
    assert refused.exit_code == 1 and "recurring must be one of" in refused.output
    stored = in_db(sqlite_url, lambda db: get(db, Conversation, seq))
    assert stored.config["schedule"]["time"] == "08:00:00"


def test_poll_get_and_set(sqlite_url: str, run: Any, tmp_path: Path) -> None:
    dialogue = in_db(sqlite_url, lambda db: one_of(db, "dialogue", {"other": 1}))
    poll = tmp_path / "poll.json"
    poll.write_text(json.dumps(POLL))
    assert run("conversation", "poll", dialogue, "--set", str(poll)).exit_code == 0
    shown = run("conversation", "poll", dialogue)
    assert json.loads(shown.output) == POLL
    poll.write_text(json.dumps({**POLL, "start_state": {"uuid": "missing"}}))
    refused = run("conversation", "poll", dialogue, "--set", str(poll))
    assert refused.exit_code == 1 and "not one of the states" in refused.output
    stored = in_db(sqlite_url, lambda db: get(db, Conversation, dialogue))
    assert stored.config["other"] == 1 and stored.config["poll"] == POLL


def test_router_configure(sqlite_url: str, run: Any, tmp_path: Path) -> None:
    menu = in_db(sqlite_url, lambda db: one_of(db, "app_multiplexer", {}))
    config = tmp_path / "menu.json"
    config.write_text(json.dumps({"entries": [{"label": "A", "endpoint": "a"}]}))
    assert run("router", "configure", menu, "--config-file", str(config)).exit_code == 0
    config.write_text(json.dumps({"entries": []}))
    refused = run("router", "configure", menu, "--config-file", str(config))
    assert refused.exit_code == 1 and "non-empty list" in refused.output
    stored = in_db(sqlite_url, lambda db: get(db, Router, menu))
    assert stored.config["entries"][0]["label"] == "A"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-02T09:00", datetime(2030, 1, 2, 9, tzinfo=UTC)),
        ("2030-01-02 09:00:00Z", datetime(2030, 1, 2, 9, tzinfo=UTC)),
        ("2030-01-02T11:00+02:00", datetime(2030, 1, 2, 9, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


def test_parse_relative_time() -> None:
    later = parse_time("+30m") - datetime.now(UTC)
    assert timedelta(minutes=29) < later <= timedelta(minutes=30)
    with pytest.raises(click.BadParameter):
        parse_time("tomorrow")
