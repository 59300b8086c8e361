"""Roles: what each ``vumigo worker --role`` runs, and the split of the apps role's parts.

Engines run in this process on the embedded bus to show what each role starts (consumers,
the push worker, the scheduler); two platforms on one PostgreSQL database and one RabbitMQ
show a push outbox written by an apps process being delivered by a push process alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import database_url
from tests.support.factories import hold_tag, make_account, make_pool, route_both_ways
from tests.support.http_api import make_http_api_conversation, push_receiver, use_test_env
from tests.transports.platform_support import wait_for
from vumigo.apps.http_api.runtime import runtime_for
from vumigo.apps.scheduler import services_for
from vumigo.bus import queues as q
from vumigo.cli import cli
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.engine.core import Engine
from vumigo.message import UserMessage
from vumigo.roles import ROLES, AppParts, app_parts
from vumigo.runtime import Platform
from vumigo.workers import worker_settings

AMQP_URL = os.environ.get("VUMIGO_TEST_AMQP_URL")
SPLIT = ["sandbox", "scheduler", "push"]


@pytest.mark.parametrize(
    ("roles", "dedicated", "expected"),
    [
        (["apps"], [], AppParts(True, True, True, True)),
        (["apps"], SPLIT, AppParts(conversations=True)),
        (["apps"], ["push"], AppParts(True, True, True, False)),
        (["sandbox"], SPLIT, AppParts(sandbox=True)),
        (["scheduler"], [], AppParts(scheduler=True)),
        (["push"], [], AppParts(push=True)),
        (["dispatcher", "transports"], [], AppParts()),
        ([], [], AppParts()),
    ],
)
def test_which_parts_of_the_apps_role_run(
    roles: list[str], dedicated: list[str], expected: AppParts
) -> None:
    assert app_parts(roles, dedicated) == expected


def test_the_jsbox_type_belongs_to_the_sandbox_part() -> None:
    assert AppParts(sandbox=True).consumes("jsbox")
    assert not AppParts(sandbox=True).consumes("static_reply")
    assert AppParts(conversations=True).consumes("static_reply")
    assert not AppParts(conversations=True).consumes("jsbox")


def test_a_worker_runs_only_its_role(settings: Settings) -> None:
    assert set(ROLES) == {"web", "dispatcher", "apps", "transports", "sandbox", "scheduler", "push"}
    assert worker_settings(settings, "web").roles == []
    assert worker_settings(settings, "push").roles == ["push"]
    with pytest.raises(ValueError, match="unknown role 'mailer'"):
        worker_settings(settings, "mailer")


def test_the_cli_refuses_an_unknown_role_and_lists_the_roles() -> None:
    result = CliRunner().invoke(cli, ["worker", "--role", "mailer"], prog_name="vumigo")
    assert result.exit_code == 2
    assert "'mailer' is not one of" in result.output
    for role in ROLES:
        assert role in result.output
    usage = CliRunner().invoke(cli, ["worker", "--help"], prog_name="vumigo")
    assert usage.exit_code == 0
    assert all(role in usage.output for role in ROLES)


def test_dedicated_roles_name_only_parts_of_apps(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dedicated_roles"):
        Settings(data_dir=tmp_path, dedicated_roles=["dispatcher"])
    assert Settings(data_dir=tmp_path, dedicated_roles=SPLIT).dedicated_roles == SPLIT


async def test_an_engine_refuses_an_unknown_role(settings: Settings) -> None:
    engine = Engine(settings, Database(settings.resolved_database_url))
    with pytest.raises(ValueError, match="unknown role"):
        await engine.start(["apps", "mailer"])
    await engine.stop()
    await engine.db.dispose()


def consumed(engine: Engine) -> set[str]:
    return {str(getattr(consumer, "queue", "")) for consumer in engine.consumers}


@pytest.fixture
async def started(settings: Settings) -> AsyncIterator[Any]:
    """Starts an embedded platform with the given roles (and dedicated roles)."""
    platforms: list[Platform] = []

    async def start(roles: list[str], dedicated: list[str] | None = None) -> Engine:
        own = settings.model_copy(update={"roles": roles, "dedicated_roles": dedicated or []})
        platforms.append(Platform(own))
        await platforms[-1].start()
        return platforms[-1].engine

    yield start
    for platform in platforms:
        await platform.stop()


def running(engine: Engine) -> dict[str, bool]:
    services = services_for(engine)
    return {
        "pusher": runtime_for(engine).pusher is not None,
        "scheduler": services.scheduler.loop_task is not None,
        "routers": bool(services.routers.routers),
    }


async def test_apps_alone_runs_every_part(started: Any) -> None:
    engine = await started(["apps"])
    queues = consumed(engine)
    assert {q.app_inbound("static_reply"), q.app_inbound("jsbox")} <= queues
    assert q.router_inbound("keyword") in queues
    assert running(engine) == {"pusher": True, "scheduler": True, "routers": True}


async def test_apps_leaves_dedicated_parts_to_their_roles(started: Any) -> None:
    engine = await started(["apps"], SPLIT)
    queues = consumed(engine)
    assert q.app_inbound("static_reply") in queues
    assert q.app_inbound("jsbox") not in queues and q.app_event("jsbox") not in queues
    assert running(engine) == {"pusher": False, "scheduler": False, "routers": True}


async def test_the_sandbox_role_takes_only_the_jsbox_queues(started: Any) -> None:
    engine = await started(["sandbox"], SPLIT)
    assert consumed(engine) == {q.app_inbound("jsbox"), q.app_event("jsbox")}
    assert running(engine) == {"pusher": False, "scheduler": False, "routers": False}


async def test_the_scheduler_and_push_roles_take_no_queue(started: Any) -> None:
    scheduler = await started(["scheduler"])
    assert consumed(scheduler) == set()
    assert running(scheduler) == {"pusher": False, "scheduler": True, "routers": False}
    # It holds every app, whose actions it runs.
    assert {"bulk_message", "jsbox", "sequential_send"} <= set(scheduler.apps.apps)
    push = await started(["push"])
    assert consumed(push) == set()
    assert running(push) == {"pusher": True, "scheduler": False, "routers": False}


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url("postgres", request, tmp_path)


@pytest.fixture
def test_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_test_env(monkeypatch)
    yield


@pytest.mark.skipif(not AMQP_URL, reason="the distributed mode needs `make test`'s RabbitMQ")
async def test_a_push_process_delivers_what_an_apps_process_wrote(
    pg_url: str, test_env: None
) -> None:
    db = Database(pg_url)
    account, _ = await make_account(db)
    await make_pool(db, "dev", ["10001"])
    await hold_tag(db, account, "dev", "10001")
    common: dict[str, Any] = {
        "database_url": pg_url,
        "broker_url": AMQP_URL,
        "broker_prefix": f"roles{uuid.uuid4().hex[:8]}.",
        "dedicated_roles": SPLIT,
    }
    apps = Platform(Settings(roles=["dispatcher", "apps"], **common))
    push = Platform(Settings(roles=["push"], **common))
    with push_receiver() as receiver:
        kind = "http_api_nostream"
        conv, _ = await make_http_api_conversation(
            db, account, kind, push_message_url=receiver.url("/messages")
        )
        await route_both_ways(db, account, "dev", "10001", f"CONVERSATION:{kind}:{conv}")
        await apps.start()
        await push.start()
        try:
            assert runtime_for(apps.engine).pusher is None
            assert runtime_for(push.engine).pusher is not None
            msg = UserMessage(
                to_addr="10001",
                from_addr="+27820000001",
                content="hello",
                transport_name="dev",
                transport_type="sms",
                helper_metadata={"tag": {"tag": ["dev", "10001"]}},
            )
            assert await apps.engine.accept_inbound(msg)

            async def pushed() -> list[dict[str, Any]]:
                return receiver.bodies("/messages")

            [body] = await wait_for(pushed, 20)
            assert (body["message_id"], body["content"]) == (msg.message_id, "hello")
        finally:
            await push.stop()
            await apps.stop()
            await db.dispose()
