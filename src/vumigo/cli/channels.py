"""Channels an account holds: ``vumigo channel acquire|release|list``."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.queries import get_account
from vumigo.channels import acquisition
from vumigo.cli.common import (
    State,
    VumigoGroup,
    columns,
    emit,
    in_transaction,
    pass_state,
    when,
)
from vumigo.db.models import Tag, TagPool
from vumigo.errors import VumigoError


@click.group(cls=VumigoGroup)
def channel() -> None:
    """Acquire, release and list an account's channels (POOL:TAG)."""


@channel.command("acquire")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--pool", required=True, help="Pool to take a tag from.")
@click.option("--tag", help="A particular tag (default: the first free one).")
@pass_state
def channel_acquire(state: State, account_key: str, pool: str, tag: str | None) -> None:
    """Acquire a tag of a pool for an account; prints POOL:TAG."""

    async def work(session: AsyncSession) -> Tag:
        return await acquisition.acquire_tag(session, account_key, pool, tag)

    got = in_transaction(state, work)
    name = f"{got.pool}:{got.tag}"
    emit(state, {"channel": name, "pool": got.pool, "tag": got.tag}, name)


@channel.command("release")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--channel", "channel_name", required=True, help="POOL:TAG to release.")
@pass_state
def channel_release(state: State, account_key: str, channel_name: str) -> None:
    """Release a channel; its routing entries are removed too."""
    try:
        pool, tag = acquisition.parse_channel(channel_name)
    except VumigoError as exc:
        raise click.BadParameter(str(exc), param_hint="--channel") from exc

    async def work(session: AsyncSession) -> int:
        return await acquisition.release_tag(session, account_key, pool, tag)

    removed = in_transaction(state, work)
    emit(
        state,
        {"released": channel_name, "routing_entries_removed": removed},
        f"released {channel_name} ({removed} routing entr{'y' if removed == 1 else 'ies'} removed)",
    )


@channel.command("list")
@click.option("--account", "account_key", required=True, help="Account key.")
@pass_state
def channel_list(state: State, account_key: str) -> None:
    """List the channels an account holds."""

    async def work(session: AsyncSession) -> list[tuple[Tag, dict[str, object]]]:
        await get_account(session, account_key)
        held = []
        for tag in await acquisition.account_tags(session, account_key):
            pool = await session.get(TagPool, tag.pool)
            held.append((tag, dict(pool.meta) if pool else {}))
        return held

    held = in_transaction(state, work)
    data = [
        {
            "channel": f"{tag.pool}:{tag.tag}",
            "pool": tag.pool,
            "tag": tag.tag,
            "acquired_at": tag.acquired_at,
            "display_name": meta.get("display_name"),
            "transport_type": meta.get("transport_type"),
        }
        for tag, meta in held
    ]
    rows = [
        (f"{tag.pool}:{tag.tag}", meta.get("display_name", "-"), when(tag.acquired_at))
        for tag, meta in held
    ]
    emit(state, data, columns(rows, ["CHANNEL", "NAME", "ACQUIRED"]) if held else "no channels")


COMMANDS = (channel,)
