"""Routers: the same pattern as conversations (list, create, show, start/stop/archive, config)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from vumigo.accounts.apps import ROUTER_TYPES, allowed_types
from vumigo.conversations import routers as service
from vumigo.errors import InvalidInput, VumigoError
from vumigo.routing.table import load_table
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.routing_view import links_of
from vumigo.web.stats import figures
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

PER_PAGE = 12
STATUS_FILTERS = ("", "running", "stopped", "archived")


@router.get("/routers/")
async def router_list(web: Page, status: str = "", p: str | None = None) -> Response:
    status = forms.choice(status, STATUS_FILTERS, "")
    async with web.db.sessions() as session:
        found = await service.list_routers(
            session,
            web.account_key,
            status=status if status in ("running", "stopped") else None,
            archived=status == "archived",
        )
    page = forms.paginate(found, forms.positive_int(p), PER_PAGE)
    return await web.page(
        "routers/list.html", nav="routers", page=page, types=ROUTER_TYPES, chosen=status
    )


async def _permitted(web: Web) -> list[tuple[str, str]]:
    async with web.db.sessions() as session:
        allowed = await allowed_types(session, web.account_key)
    return sorted(
        ((name, app.display_name) for name, app in ROUTER_TYPES.items() if name in allowed),
        key=lambda item: item[1],
    )


@router.get("/routers/new")
async def new_form(web: Page) -> Response:
    return await web.page("routers/new.html", nav="routers", types=await _permitted(web), values={})


@router.post("/routers/new")
async def create(web: Page) -> Response:
    form = await forms.read_form(web.request)
    values = {
        "name": forms.text(form, "name", label="Name"),
        "description": forms.text(form, "description", label="Description", max_length=2000),
        "router_type": forms.text(form, "router_type", label="Type", max_length=64),
    }
    try:
        if not values["name"]:
            raise InvalidInput("Give the router a name.")
        if not values["router_type"]:
            raise InvalidInput("Choose what kind of router this is.")
        async with web.db.transaction() as session:
            rtr = await service.create_router(
                session,
                web.account_key,
                values["router_type"],
                values["name"],
                description=values["description"],
            )
            await service.start_router(session, web.account_key, rtr.key)
    except VumigoError as exc:
        return await web.page(
            "routers/new.html",
            status=exc.status_code,
            nav="routers",
            types=await _permitted(web),
            values=values,
            error=str(exc),
        )
    web.changed()
    await web.flash("success", f"Router “{rtr.name}” created and started.")
    return web.redirect(f"/routers/{rtr.key}/")


async def _show(web: Web, key: str, status: int = 200, **extra: Any) -> Response:
    account = web.account_key
    async with web.db.sessions() as session:
        rtr = await service.get_router(session, account, key)
        stats = await figures(session, "router", key, account, with_throughput=True)
        table = await load_table(session, account)
    inbound = str(service.inbound_connector(rtr))
    outbound = str(service.outbound_connector(rtr))
    extra.setdefault("config_text", json.dumps(rtr.config, indent=2, sort_keys=True))
    return await web.page(
        "routers/show.html",
        status=status,
        nav="routers",
        rtr=rtr,
        app=ROUTER_TYPES.get(rtr.router_type),
        stats=stats,
        inbound=inbound,
        outbound=outbound,
        links=links_of(table, inbound) + links_of(table, outbound),
        **extra,
    )


@router.get("/routers/{key}/")
async def show(web: Page, key: str) -> Response:
    return await _show(web, key)


@router.post("/routers/{key}/edit")
async def edit(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    config_text = forms.text(form, "config", label="Config", max_length=200_000, strip=False)
    try:
        name = forms.text(form, "name", label="Name", required=True)
        description = forms.text(form, "description", label="Description", max_length=2000)
        inbound = forms.name_list(forms.text(form, "inbound_endpoints", max_length=2000))
        outbound = forms.name_list(forms.text(form, "outbound_endpoints", max_length=2000))
        config = forms.json_object(config_text)
        async with web.db.transaction() as session:
            await service.update_router(
                session,
                web.account_key,
                key,
                name=name,
                description=description,
                config=config,
                extra_inbound_endpoints=inbound,
                extra_outbound_endpoints=outbound,
            )
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        return await _show(web, key, status=400, config_text=config_text, error=str(exc))
    web.changed()
    await web.flash("success", "Saved.")
    return web.redirect(f"/routers/{key}/")


ACTIONS = {
    "start": (service.start_router, "Started."),
    "stop": (service.stop_router, "Stopped."),
    "archive": (service.archive_router, "Archived; its routing entries are removed."),
}


@router.post("/routers/{key}/{action}")
async def lifecycle(web: Page, key: str, action: str) -> Response:
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}")
    run, done = ACTIONS[action]
    try:
        async with web.db.transaction() as session:
            await run(session, web.account_key, key)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        await web.flash("error", str(exc))
    else:
        web.changed()
        await web.flash("success", done)
    return web.redirect(f"/routers/{key}/")
