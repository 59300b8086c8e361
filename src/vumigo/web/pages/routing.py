"""The routing table: channels ↔ routers ↔ conversations, with links added and removed here.

Every change goes through ``routing.table``, which checks that a link joins opposite directions
and that both ends belong to the account; its refusals are shown on the page.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from vumigo.errors import InvalidInput, VumigoError
from vumigo.routing.connectors import OPT_OUT
from vumigo.routing.table import add_entry, load_table, remove_entry
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.routing_view import (
    Endpoint,
    account_endpoints,
    endpoint_id,
    split_endpoint_id,
    table_links,
)
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

OPT_OUT_ENDPOINT = Endpoint(
    endpoint_id(str(OPT_OUT), "default"), str(OPT_OUT), "default", "Opt-outs", "opt-out", None
)


async def _page(web: Web, status: int = 200, **extra: object) -> Response:
    async with web.db.sessions() as session:
        endpoints = await account_endpoints(session, web.account_key)
        table = await load_table(session, web.account_key)
    endpoints.append(OPT_OUT_ENDPOINT)
    known = {endpoint.id: endpoint for endpoint in endpoints}
    links = sorted(
        table_links(table),
        key=lambda link: known[link.source].label if link.source in known else link.source,
    )
    return await web.page(
        "routing/table.html",
        status=status,
        nav="routing",
        endpoints=endpoints,
        known=known,
        links=links,
        **extra,
    )


@router.get("/routing/")
async def routing_table(web: Page) -> Response:
    return await _page(web)


def _ends(form_value: str, label: str) -> tuple[str, str]:
    connector, endpoint = split_endpoint_id(form_value)
    if not connector or not endpoint:
        raise InvalidInput(f"Choose the {label} of the link.")
    return connector, endpoint


@router.post("/routing/add")
async def add(web: Page) -> Response:
    form = await forms.read_form(web.request)
    both_ways = forms.text(form, "both_ways") == "on"
    try:
        source, source_ep = _ends(forms.text(form, "source", max_length=400), "start")
        target, target_ep = _ends(forms.text(form, "target", max_length=400), "end")
        async with web.db.transaction() as session:
            added = await add_entry(session, web.account_key, source, source_ep, target, target_ep)
            # The usual link goes both ways (a channel to an app, and the app's replies back);
            # opt-out handling only ever hands messages on, so it has no way back.
            if both_ways and str(OPT_OUT) not in (source, target):
                added |= await add_entry(
                    session, web.account_key, target, target_ep, source, source_ep
                )
    except VumigoError as exc:
        return await _page(
            web,
            status=exc.status_code if exc.status_code != 404 else 400,
            error=str(exc),
            chosen={"source": form.get("source"), "target": form.get("target")},
        )
    web.changed()
    await web.flash("success" if added else "info", "Linked." if added else "That link exists.")
    return web.redirect("/routing/")


@router.post("/routing/remove")
async def remove(web: Page) -> Response:
    form = await forms.read_form(web.request)
    source, source_ep = _ends(forms.text(form, "source", max_length=400), "start")
    target, target_ep = _ends(forms.text(form, "target", max_length=400), "end")
    async with web.db.transaction() as session:
        await remove_entry(session, web.account_key, source, source_ep, target, target_ep)
    web.changed()
    await web.flash("success", "Link removed.")
    return web.redirect("/routing/")
