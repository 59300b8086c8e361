"""Operator pages for tag pools: the list with used and free counts, a new pool (from fields or
a pasted tagpools.yaml), and a pool's page (its tags a page at a time with their holders, more
tags, granting it to an account, releasing a held tag)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from vumigo.channels import acquisition, poolspec, tagpools
from vumigo.errors import InvalidInput
from vumigo.web import forms
from vumigo.web.context import Web
from vumigo.web.pages.admin_forms import read_max_keys
from vumigo.web.pages.admin_guard import (
    Operator,
    as_bad_input,
    db_page,
    operator_router,
    sentence,
)
from vumigo.web.pages.auth import safe_next

router = operator_router()

TAGS_PER_PAGE = 50
SHOW = {"all": None, "held": True, "free": False}
MAX_SPEC = 200_000  # characters of a pasted tag list or tagpools.yaml


async def _list(web: Web, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        pools = await tagpools.list_pools(session)
    return await web.page(
        "admin/pools.html",
        status=status,
        nav="admin",
        tab="pools",
        pools=pools,
        values=extra.pop("values", {}),
        **extra,
    )


@router.get("/admin/pools/")
async def pool_list(web: Operator) -> Response:
    return await _list(web)


def read_tags(form: Any) -> list[str]:
    """The tags a form gives, as a list (commas, spaces or lines) or as a PREFIX:START-END range:
    one of the two, as the command line's --tags and --tag-range."""
    listed = forms.text(form, "tags", label="Tags", max_length=MAX_SPEC)
    ranged = forms.text(form, "tag_range", label="Tag range", max_length=300)
    if listed and ranged:
        raise InvalidInput("Give a list of tags or a range, not both.")
    if ranged:
        return poolspec.tag_range(ranged)
    return poolspec.check_tags(forms.name_list(listed))


@router.post("/admin/pools/new")
async def create_pool(web: Operator) -> Response:
    form = await forms.read_form(web.request)
    values = {
        name: forms.text(form, name, max_length=MAX_SPEC, strip=False)
        for name in ("name", "tags", "tag_range", "meta")
    }
    try:
        name = forms.text(form, "name", label="Pool name", required=True, max_length=128)
        tags = read_tags(form)
        meta = poolspec.read_meta(forms.text(form, "meta", label="Metadata", max_length=20_000))
        async with as_bad_input(), web.db.transaction() as session:
            await tagpools.create_pool(session, name, tags, meta)
    except InvalidInput as exc:
        return await _list(web, status=400, values=values, error=sentence(str(exc)))
    await web.flash("success", f"Pool {name} created with {len(tags)} tags.")
    return web.redirect(f"/admin/pools/{name}/")


@router.post("/admin/pools/import")
async def import_pools(web: Operator) -> Response:
    form = await forms.read_form(web.request)
    text = forms.text(form, "yaml", label="tagpools.yaml", max_length=MAX_SPEC, strip=False)
    try:
        specs = poolspec.read_pools_file(text)
        if not specs:
            raise InvalidInput("The file declares no pools.")
        async with as_bad_input(), web.db.transaction() as session:
            for spec in specs.values():
                await tagpools.create_pool(session, spec.name, spec.tags, spec.meta)
    except InvalidInput as exc:
        return await _list(web, status=400, values={"yaml": text}, import_error=sentence(str(exc)))
    await web.flash("success", f"Created {len(specs)} pool(s): {', '.join(sorted(specs))}.")
    return web.redirect("/admin/pools/")


async def _show(
    web: Web, name: str, show: str = "all", number: int = 1, status: int = 200, **extra: Any
) -> Response:
    show = forms.choice(show, SHOW, "all")
    async with web.db.sessions() as session:
        summary = await tagpools.pool_summary(session, name)

        async def fetch(offset: int, limit: int) -> tuple[list[Any], int]:
            return await tagpools.pool_tags(
                session, name, held=SHOW[show], offset=offset, limit=limit
            )

        page = await db_page(fetch, number, TAGS_PER_PAGE)
        grantees = await tagpools.pool_grantees(session, name)
    return await web.page(
        "admin/pool.html",
        status=status,
        nav="admin",
        tab="pools",
        pool=summary,
        meta=sorted(summary.meta.items()),
        page=page,
        show=show,
        grantees=grantees,
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/admin/pools/{name}/")
async def show_pool(web: Operator, name: str, show: str = "all", p: str | None = None) -> Response:
    return await _show(web, name, show, forms.positive_int(p))


async def _refused(web: Web, name: str, section: str, exc: InvalidInput) -> Response:
    return await _show(web, name, status=400, errors={section: sentence(str(exc))})


@router.post("/admin/pools/{name}/tags")
async def add_tags(web: Operator, name: str) -> Response:
    form = await forms.read_form(web.request)
    async with web.db.sessions() as session:
        await tagpools.get_pool(session, name)
    try:
        tags = read_tags(form)
        if not tags:
            raise InvalidInput("Give the tags to add, as a list or a range.")
        async with as_bad_input(), web.db.transaction() as session:
            added = await tagpools.add_tags(session, name, tags)
    except InvalidInput as exc:
        return await _refused(web, name, "tags", exc)
    skipped = len(tags) - len(added)
    note = f"; {skipped} were there already" if skipped else ""
    await web.flash("success", f"Added {len(added)} tags{note}.")
    return web.redirect(f"/admin/pools/{name}/")


@router.post("/admin/pools/{name}/assign")
async def assign(web: Operator, name: str) -> Response:
    form = await forms.read_form(web.request)
    async with web.db.sessions() as session:
        await tagpools.get_pool(session, name)
    try:
        account = forms.text(form, "account", label="Account key", required=True, max_length=64)
        max_keys = read_max_keys(form)
        async with as_bad_input(), web.db.transaction() as session:
            await tagpools.assign_pool(session, account, name, max_keys)
    except InvalidInput as exc:
        return await _refused(web, name, "assign", exc)
    web.changed()
    limit = "any number of" if max_keys is None else f"up to {max_keys}"
    await web.flash("success", f"Account {account} may hold {limit} tags of {name}.")
    return web.redirect(f"/admin/pools/{name}/")


@router.post("/admin/pools/{name}/release")
async def release(web: Operator, name: str) -> Response:
    form = await forms.read_form(web.request)
    back = safe_next(forms.text(form, "next", max_length=2000))
    back = back if back.startswith("/admin/") else f"/admin/pools/{name}/"
    async with web.db.sessions() as session:
        await tagpools.get_pool(session, name)
    tag = forms.text(form, "tag", label="Tag", required=True, max_length=128)
    async with as_bad_input(), web.db.transaction() as session:
        owner = await acquisition.tag_owner(session, name, tag)
        if owner is None:
            raise InvalidInput(f"The tag {name}:{tag} is not held by anyone.")
        removed = await acquisition.release_tag(session, owner, name, tag)
    web.changed()
    routes = f" and {removed} routing entries removed" if removed else ""
    await web.flash("success", f"Released {name}:{tag} from account {owner}{routes}.")
    return web.redirect(back)
