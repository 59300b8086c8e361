"""``vumigo http-api ...`` on a real database (the group is run on its own here)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.support.factories import make_account, make_conversation
from tests.support.http_api import make_http_api_conversation
from vumigo.apps.http_api.config import ApiConfig, digest, token_id
from vumigo.cli.http_api import http_api
from vumigo.db.engine import Database
from vumigo.db.models import Conversation


async def cli(url: str, tmp_path: Path, *args: str) -> Result:
    """Runs the command in a thread: it runs its own event loop, as it does in a shell."""
    env = {"VUMIGO_DATABASE_URL": url, "VUMIGO_DATA_DIR": str(tmp_path), "VUMIGO_CONFIG": None}
    return await asyncio.to_thread(
        CliRunner().invoke, http_api, list(args), env=env, catch_exceptions=False
    )


async def config_of(db: Database, key: str) -> ApiConfig:
    async with db.sessions() as session:
        row = await session.get(Conversation, key)
        assert row is not None
        return ApiConfig.from_section(row.config.get(row.conversation_type))


async def test_token_create_show_remove(sqlite_db: Database, tmp_path: Path) -> None:
    account, _ = await make_account(sqlite_db)
    conv, first = await make_http_api_conversation(sqlite_db, account, "http_api")
    created = await cli(sqlite_db.url, tmp_path, "token", "create", conv, "--account", account)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert len(token) >= 40 and "not shown again" in created.stderr
    config = await config_of(sqlite_db, conv)
    assert config.accepts(token) and config.accepts(first)
    assert token not in json.dumps(config.api_tokens)  # only the digest is kept

    shown = await cli(sqlite_db.url, tmp_path, "show", conv, "--json")
    data = json.loads(shown.stdout)
    assert data["tokens"] == [token_id(digest(first)), token_id(digest(token))]

    assert (await cli(sqlite_db.url, tmp_path, "token", "remove", conv, token)).exit_code == 0
    config = await config_of(sqlite_db, conv)
    assert not config.accepts(token) and config.accepts(first)
    by_id = await cli(sqlite_db.url, tmp_path, "token", "remove", conv, token_id(digest(first)))
    assert by_id.exit_code == 0
    assert (await config_of(sqlite_db, conv)).api_tokens == ()
    again = await cli(sqlite_db.url, tmp_path, "token", "remove", conv, token)
    assert again.exit_code == 1 and "no such token" in again.output


async def test_set_url_and_options(sqlite_db: Database, tmp_path: Path) -> None:
    account, _ = await make_account(sqlite_db)
    conv, _ = await make_http_api_conversation(sqlite_db, account)
    url = "https://user:pw@example.org/hook"
    result = await cli(sqlite_db.url, tmp_path, "set-url", conv, "--messages", url, "--events", url)
    assert result.exit_code == 0, result.output
    result = await cli(
        sqlite_db.url,
        tmp_path,
        "set",
        conv,
        "--metric-store",
        "shop",
        "--content-length-limit",
        "160",
        "--ignore-events",
    )
    assert result.exit_code == 0, result.output
    config = await config_of(sqlite_db, conv)
    assert (config.push_message_url, config.push_event_url) == (url, url)
    assert (config.metric_store, config.content_length_limit) == ("shop", 160)
    assert (config.ignore_messages, config.ignore_events) == (False, True)
    shown = (await cli(sqlite_db.url, tmp_path, "show", conv)).stdout
    assert "push_message_url: https://example.org/hook" in shown and "pw" not in shown
    cleared = await cli(sqlite_db.url, tmp_path, "set-url", conv, "--events", "")
    assert cleared.exit_code == 0
    assert (await config_of(sqlite_db, conv)).push_event_url is None


@pytest.mark.parametrize(
    "args",
    [
        ("set-url", "{conv}", "--messages", "ftp://example.org/x"),
        ("set-url", "{conv}", "--messages", "http:///nohost"),
        ("set-url", "{conv}"),
        ("set", "{conv}", "--metric-store", "bad store"),
        ("token", "create", "nosuchconversation"),
        ("token", "create", "{conv}", "--account", "someoneelse"),
        ("token", "create", "{other}"),
        ("token", "remove", "{conv}"),
    ],
)
async def test_refusals_change_nothing(
    sqlite_db: Database, tmp_path: Path, args: tuple[str, ...]
) -> None:
    account, _ = await make_account(sqlite_db)
    conv, _ = await make_http_api_conversation(sqlite_db, account)
    other = await make_conversation(sqlite_db, account, "static_reply")
    before = await config_of(sqlite_db, conv)
    result = await cli(sqlite_db.url, tmp_path, *(a.format(conv=conv, other=other) for a in args))
    assert result.exit_code in (1, 2), result.output
    assert await config_of(sqlite_db, conv) == before


async def test_deliveries_and_retry(sqlite_db: Database, tmp_path: Path) -> None:
    from vumigo.apps.http_api import outbox

    account, _ = await make_account(sqlite_db)
    conv, _ = await make_http_api_conversation(sqlite_db, account)
    async with sqlite_db.transaction() as session:
        await outbox.enqueue(
            session,
            account_key=account,
            conversation_key=conv,
            kind="message",
            item_id="m1",
            url="http://u:secret@example.org/x",
            body="{}",
            max_pending=0,  # over the cap: stored as given up
        )
    listed = (await cli(sqlite_db.url, tmp_path, "deliveries", conv)).stdout
    assert "given_up" in listed and "too many pending" in listed and "secret" not in listed
    assert (await cli(sqlite_db.url, tmp_path, "retry", conv)).stdout.startswith("1 deliveries")
    assert (
        "pending"
        in (await cli(sqlite_db.url, tmp_path, "deliveries", conv, "--status", "pending")).stdout
    )
