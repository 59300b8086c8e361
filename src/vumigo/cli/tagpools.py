"""Tag pools and who may use them: ``vumigo tagpool create|add-tags|list|purge|assign ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.channels import poolspec, tagpools
from vumigo.cli.common import (
    State,
    VumigoGroup,
    columns,
    emit,
    in_transaction,
    parse_pairs,
    pass_state,
)
from vumigo.errors import VumigoError

_TAGS_HELP = "Comma-separated tags."
_RANGE_HELP = "Tags PREFIXSTART..PREFIXEND, e.g. default:10001-10010 (inclusive)."
_META_HELP = "Metadata KEY=VALUE (repeatable); dotted keys such as supports.replies=true."


@click.group(cls=VumigoGroup)
def tagpool() -> None:
    """Create, list and purge tag pools, and grant accounts their use."""


def _tags_from_options(tags: str | None, tag_range: str | None) -> list[str] | None:
    if tags is not None and tag_range is not None:
        raise click.UsageError("give --tags or --tag-range, not both")
    try:
        if tags is not None:
            return poolspec.check_tags([t.strip() for t in tags.split(",") if t.strip()])
        if tag_range is not None:
            return poolspec.tag_range(tag_range)
    except VumigoError as exc:
        raise click.BadParameter(str(exc)) from exc
    return None


def _spec_from_file(path: str, pool: str) -> poolspec.PoolSpec:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="--file"
        ) from exc
    try:
        specs = poolspec.read_pools_file(text)
    except VumigoError as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--file") from exc
    if pool not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise click.BadParameter(
            f"{path} has no pool {pool!r} (it has: {known})", param_hint="--file"
        )
    return specs[pool]


@tagpool.command("create")
@click.argument("pool")
@click.option("--tags", help=_TAGS_HELP)
@click.option("--tag-range", help=_RANGE_HELP)
@click.option("--file", "pools_file", type=click.Path(dir_okay=False), help="A tagpools.yaml.")
@click.option("--meta", "meta_pairs", multiple=True, help=_META_HELP)
@pass_state
def tagpool_create(
    state: State,
    pool: str,
    tags: str | None,
    tag_range: str | None,
    pools_file: str | None,
    meta_pairs: tuple[str, ...],
) -> None:
    """Create POOL from a tag list, a tag range or its entry in a tagpools.yaml file."""
    listed = _tags_from_options(tags, tag_range)
    if (listed is None) == (pools_file is None):
        raise click.UsageError("give exactly one of --tags, --tag-range or --file")
    spec = _spec_from_file(pools_file, pool) if pools_file else poolspec.PoolSpec(pool)
    tag_list = listed if listed is not None else spec.tags
    meta: dict[str, Any] = {**spec.meta, **parse_pairs(meta_pairs, "--meta", poolspec.STR_KEYS)}

    async def work(session: AsyncSession) -> dict[str, Any]:
        made = await tagpools.create_pool(session, pool, tag_list, meta)
        return {"pool": made.name, "tags": len(tag_list), "meta": made.meta}

    made = in_transaction(state, work)
    emit(state, made, f"created tagpool {pool} with {len(tag_list)} tag(s)")


@tagpool.command("add-tags")
@click.argument("pool")
@click.option("--tags", help=_TAGS_HELP)
@click.option("--tag-range", help=_RANGE_HELP)
@pass_state
def tagpool_add_tags(state: State, pool: str, tags: str | None, tag_range: str | None) -> None:
    """Add tags to an existing POOL (tags it already has are skipped)."""
    listed = _tags_from_options(tags, tag_range)
    if listed is None:
        raise click.UsageError("give --tags or --tag-range")

    async def work(session: AsyncSession) -> list[str]:
        return await tagpools.add_tags(session, pool, listed)

    added = in_transaction(state, work)
    skipped = len(listed) - len(added)
    emit(
        state,
        {"pool": pool, "added": len(added), "skipped": skipped},
        f"added {len(added)} tag(s) to {pool}" + (f", {skipped} already there" if skipped else ""),
    )


@tagpool.command("set-meta")
@click.argument("pool")
@click.option("--meta", "meta_pairs", multiple=True, required=True, help=_META_HELP)
@click.option("--replace", is_flag=True, help="Replace all metadata instead of merging.")
@pass_state
def tagpool_set_meta(state: State, pool: str, meta_pairs: tuple[str, ...], replace: bool) -> None:
    """Change POOL's metadata."""
    meta = parse_pairs(meta_pairs, "--meta", poolspec.STR_KEYS)

    async def work(session: AsyncSession) -> dict[str, Any]:
        return (await tagpools.update_meta(session, pool, meta, replace=replace)).meta

    updated = in_transaction(state, work)
    emit(
        state, {"pool": pool, "meta": updated}, [f"{k} = {v!r}" for k, v in sorted(updated.items())]
    )


@tagpool.command("list")
@pass_state
def tagpool_list(state: State) -> None:
    """List pools with their free and in-use tag counts."""
    pools = in_transaction(state, tagpools.list_pools)
    data = [
        {"pool": p.name, "total": p.total, "free": p.free, "in_use": p.in_use, "meta": p.meta}
        for p in pools
    ]
    rows = [
        (
            p.name,
            p.total,
            p.free,
            p.in_use,
            p.meta.get("transport_type", "-"),
            p.meta.get("display_name", "-"),
        )
        for p in pools
    ]
    headers = ["POOL", "TAGS", "FREE", "IN USE", "TRANSPORT", "DISPLAY NAME"]
    emit(state, data, columns(rows, headers) if pools else "no tagpools")


@tagpool.command("purge")
@click.argument("pool")
@pass_state
def tagpool_purge(state: State, pool: str) -> None:
    """Delete POOL with its tags and permissions; refused while any tag is in use."""

    async def work(session: AsyncSession) -> int:
        return await tagpools.purge_pool(session, pool)

    count = in_transaction(state, work)
    emit(state, {"purged": pool, "tags": count}, f"purged tagpool {pool} ({count} tag(s))")


@tagpool.command("assign")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--pool", required=True, help="Pool name.")
@click.option("--max-keys", type=click.IntRange(min=0), help="Most tags it may hold; 0: no limit.")
@click.option("--remove", is_flag=True, help="Withdraw the permission instead.")
@pass_state
def tagpool_assign(
    state: State, account_key: str, pool: str, max_keys: int | None, remove: bool
) -> None:
    """Let an account hold up to --max-keys tags of a pool (or --remove the permission)."""
    if not remove and max_keys is None:
        raise click.UsageError("give --max-keys (0 for unlimited) or --remove")

    async def work(session: AsyncSession) -> None:
        if remove:
            await tagpools.remove_pool_permission(session, account_key, pool)
        else:
            await tagpools.assign_pool(session, account_key, pool, max_keys)

    in_transaction(state, work)
    if remove:
        emit(
            state,
            {"account_key": account_key, "pool": pool, "removed": True},
            f"{account_key} may no longer use {pool}",
        )
        return
    limit = max_keys or None
    emit(
        state,
        {"account_key": account_key, "pool": pool, "max_keys": limit},
        f"{account_key} may hold {'any number of' if limit is None else limit} tag(s) of {pool}",
    )


COMMANDS = (tagpool,)
