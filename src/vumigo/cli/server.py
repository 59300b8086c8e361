"""Running the platform: ``vumigo migrate``, ``vumigo serve`` and ``vumigo demo``."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts import apps, users
from vumigo.channels import acquisition, tagpools
from vumigo.cli.common import State, VumigoCommand, emit, in_transaction, pass_state, run
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.migrate import current_revisions, upgrade
from vumigo.db.models import TagPool
from vumigo.errors import NotFound

DEMO_EMAIL = "demo@example.org"
DEMO_PASSWORD = "demo"
DEMO_POOL = "dev"
DEMO_TAGS = [f"default{n}" for n in range(10001, 10011)]
DEMO_POOL_META: dict[str, Any] = {
    "transport_type": "dev",
    "transport_name": "dev",
    "delivery_class": "sms",
    "display_name": "Developer phone",
    "country_name": "International",
    "supports.generic_sends": True,
    "supports.replies": True,
    "user_selects_tag": True,
    "reply_to_unroutable_inbound": True,
}


async def _migrate(settings: Settings) -> list[str]:
    db = Database(settings.resolved_database_url)
    try:
        await upgrade(db)
        return sorted(await current_revisions(db))
    finally:
        await db.dispose()


@click.command(cls=VumigoCommand)
@pass_state
def migrate(state: State) -> None:
    """Create or upgrade the database schema (safe to run again)."""
    settings = state.settings
    revisions = run(_migrate(settings))
    where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    emit(
        state,
        {"database": where, "revisions": revisions},
        f"database {where} is at revision {', '.join(revisions)}",
    )


@click.command(cls=VumigoCommand)
@click.option("--host", help="Address to bind (default: the `host` setting, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: the `port` setting).")
@pass_state
def serve(state: State, host: str | None, port: int | None) -> None:
    """Migrate the database, then run the platform and its web server until interrupted."""
    from vumigo.web.app import serve as serve_web  # uvicorn and FastAPI only load when needed

    settings = state.settings
    run(_migrate(settings))
    serve_web(settings, host, port)


async def _demo(session: AsyncSession) -> dict[str, Any]:
    made: list[str] = []
    existed: list[str] = []
    try:
        account_key = (await users.get_user(session, DEMO_EMAIL)).account_key
        existed.append(f"user {DEMO_EMAIL} (password left as it is)")
    except NotFound:
        account = await users.create_user(session, DEMO_EMAIL, DEMO_PASSWORD, name="Demo")
        account_key = account.key
        made.append(f"user {DEMO_EMAIL} with password {DEMO_PASSWORD!r}")
    enabled = await apps.enable_apps(session, account_key)
    (made if enabled else existed).append(
        f"app permissions ({len(enabled) if enabled else 'all'} types enabled)"
    )
    if await session.get(TagPool, DEMO_POOL) is None:
        await tagpools.create_pool(session, DEMO_POOL, DEMO_TAGS, DEMO_POOL_META)
        made.append(f"tagpool {DEMO_POOL} with tags {DEMO_TAGS[0]}-{DEMO_TAGS[-1]}")
    else:
        added = await tagpools.add_tags(session, DEMO_POOL, DEMO_TAGS)
        existed.append(f"tagpool {DEMO_POOL}" + (f" ({len(added)} tags added)" if added else ""))
    grants = await tagpools.pool_permissions(session, account_key)
    if any(g.pool == DEMO_POOL for g in grants):
        existed.append(f"permission for tagpool {DEMO_POOL}")
    else:
        await tagpools.assign_pool(session, account_key, DEMO_POOL, 0)
        made.append(f"permission for tagpool {DEMO_POOL} (unlimited tags)")
    held = await acquisition.account_tags(session, account_key, DEMO_POOL)
    if held:
        existed.append(f"channel {DEMO_POOL}:{held[0].tag}")
        channel = f"{DEMO_POOL}:{held[0].tag}"
    else:
        tag = await acquisition.acquire_tag(session, account_key, DEMO_POOL)
        channel = f"{DEMO_POOL}:{tag.tag}"
        made.append(f"channel {channel}")
    return {
        "account_key": account_key,
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "channel": channel,
        "created": made,
        "existing": existed,
    }


@click.command(cls=VumigoCommand)
@pass_state
def demo(state: State) -> None:
    """Set up a demo account to try the platform with (safe to run again)."""
    result = in_transaction(state, _demo)
    lines = [f"created: {item}" for item in result["created"]]
    lines += [f"already there: {item}" for item in result["existing"]]
    lines.append(
        f"sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD!r} "
        f"(account {result['account_key']}, channel {result['channel']})"
    )
    emit(state, result, lines)


COMMANDS = (migrate, serve, demo)
