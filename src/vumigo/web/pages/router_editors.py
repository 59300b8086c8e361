"""Form editors for the routers' configs: keyword → endpoint, group → endpoint, and the USSD menu.

Each editor replaces the part of the config it shows, after the router type's own check
(``validate_config``), and keeps the router's conversation-side endpoints in step: an endpoint
the new config names is added, one only the old config named is removed (and its routing
entries with it), and endpoints typed by hand in the settings stay.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from vumigo.apps.routers.app_multiplexer import (
    DEFAULT_ERROR,
    DEFAULT_EXPIRY,
    DEFAULT_INVALID_INPUT,
    DEFAULT_TITLE,
)
from vumigo.conversations import routers as rsvc
from vumigo.db.models import Router
from vumigo.errors import InvalidInput, NotFound, VumigoError
from vumigo.routing.connectors import DEFAULT_ENDPOINT
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.panels import (
    checked_router_config,
    group_choices,
    merged_endpoints,
    read_group_keys,
    rows,
)
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

TITLES = {"keyword": "Keywords", "group": "Group rules", "app_multiplexer": "Menu"}


def _endpoint(value: str, number: int, what: str) -> str:
    if not value:
        raise InvalidInput(f"Row {number}: name the endpoint the {what} goes to.")
    if any(c.isspace() for c in value) or "::" in value:
        raise InvalidInput(f"Row {number}: an endpoint name is one word without “::”.")
    return value


def keyword_config(form: FormData) -> dict[str, Any]:
    mapping: dict[str, str] = {}
    for number, row in enumerate(rows(form, "keyword"), start=1):
        if row.get("remove") or not (row.get("keyword") or row.get("endpoint")):
            continue
        word = row.get("keyword", "")
        if not word or len(word.split()) != 1:
            raise InvalidInput(f"Row {number}: the keyword must be one word.")
        if word.lower() in (k.lower() for k in mapping):
            raise InvalidInput(f"Row {number}: the keyword “{word}” is already used above.")
        mapping[word] = _endpoint(row.get("endpoint", ""), number, "keyword")
    return {"keyword_endpoint_mapping": mapping}


async def group_config(form: FormData, session: AsyncSession, account_key: str) -> dict[str, Any]:
    rules = []
    for number, row in enumerate(rows(form, "rule"), start=1):
        if row.get("remove") or not (row.get("group") or row.get("endpoint")):
            continue
        if not row.get("group"):
            raise InvalidInput(f"Row {number}: choose a group.")
        [group] = await read_group_keys(session, account_key, [row["group"]])
        rules.append(
            {"group": group, "endpoint": _endpoint(row.get("endpoint", ""), number, "group")}
        )
    return {"rules": rules}


def menu_config(form: FormData) -> dict[str, Any]:
    entries = []
    for number, row in enumerate(rows(form, "entry"), start=1):
        if row.get("remove") or not (row.get("label") or row.get("endpoint")):
            continue
        if not row.get("label"):
            raise InvalidInput(f"Row {number}: give the menu item a label.")
        entries.append(
            {"label": row["label"], "endpoint": _endpoint(row.get("endpoint", ""), number, "item")}
        )
    if not entries:
        raise InvalidInput("The menu needs at least one item.")
    expiry_text = forms.text(form, "session_expiry", label="Session expiry", max_length=12)
    try:
        expiry = float(expiry_text) if expiry_text else DEFAULT_EXPIRY
    except ValueError:
        raise InvalidInput("Session expiry is a number of seconds, such as 300.") from None
    if not 0 < expiry <= 86_400:
        raise InvalidInput("Session expiry must be between 1 second and a day (86400).")
    return {
        "menu_title": {"content": forms.text(form, "menu_title", label="Title", max_length=500)},
        "entries": entries,
        "invalid_input_message": forms.text(
            form, "invalid_input_message", label="Wrong choice reply", max_length=500
        ),
        "error_message": forms.text(form, "error_message", label="Error reply", max_length=500),
        "session_expiry": int(expiry) if expiry.is_integer() else expiry,
    }


def endpoints_named(router_type: str, config: dict[str, Any]) -> list[str]:
    """The conversation-side endpoints a config sends messages to."""
    if router_type == "keyword":
        found = list((config.get("keyword_endpoint_mapping") or {}).values())
    elif router_type == "group":
        found = [r.get("endpoint") for r in config.get("rules") or [] if isinstance(r, dict)]
    else:
        found = [e.get("endpoint") for e in config.get("entries") or [] if isinstance(e, dict)]
    names = [str(name) for name in found if isinstance(name, str) and name]
    return [name for name in dict.fromkeys(names) if name != DEFAULT_ENDPOINT]


def typed_config(router_type: str, form: FormData) -> dict[str, Any]:
    """What was typed, shaped like the config, to show again with an error."""
    try:
        if router_type == "keyword":
            return {
                "keyword_endpoint_mapping": {
                    r.get("keyword", ""): r.get("endpoint", "") for r in rows(form, "keyword")
                }
            }
        if router_type == "group":
            return {"rules": rows(form, "rule")}
        return {
            "menu_title": {"content": forms.text(form, "menu_title", max_length=500)},
            "entries": rows(form, "entry"),
            "invalid_input_message": forms.text(form, "invalid_input_message", max_length=500),
            "error_message": forms.text(form, "error_message", max_length=500),
            "session_expiry": forms.text(form, "session_expiry", max_length=12),
        }
    except InvalidInput:
        return {}


async def _editable(session: AsyncSession, account_key: str, key: str) -> Router:
    rtr = await rsvc.get_router(session, account_key, key)
    if rtr.router_type not in TITLES:
        raise NotFound(f"Router {key} has no form editor; edit its config as JSON.")
    return rtr


async def _editor(
    web: Web,
    session: AsyncSession,
    rtr: Router,
    config: dict[str, Any] | None = None,
    status: int = 200,
    error: str = "",
    full: bool = True,
) -> Response:
    context = {
        "rtr": rtr,
        "config": rtr.config if config is None else config,
        "groups": await group_choices(session, web.account_key)
        if rtr.router_type == "group"
        else [],
        "defaults": {
            "title": DEFAULT_TITLE,
            "invalid": DEFAULT_INVALID_INPUT,
            "error": DEFAULT_ERROR,
            "expiry": int(DEFAULT_EXPIRY),
        },
        "error": error,
    }
    template = f"routers/editors/{rtr.router_type}.html"
    if not full:
        return web.fragment(template, status=status, **context)
    return await web.page(
        "routers/editors/page.html",
        status=status,
        nav="routers",
        title=TITLES[rtr.router_type],
        editor=template,
        **context,
    )


@router.get("/routers/{key}/config/form")
async def editor(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        rtr = await _editable(session, web.account_key, key)
        return await _editor(web, session, rtr, full=not web.is_htmx)


@router.post("/routers/{key}/config/form")
async def save(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    try:
        async with web.db.transaction() as session:
            rtr = await _editable(session, web.account_key, key)
            if rtr.router_type == "keyword":
                part = keyword_config(form)
            elif rtr.router_type == "group":
                part = await group_config(form, session, web.account_key)
            else:
                part = menu_config(form)
            before = endpoints_named(rtr.router_type, rtr.config)
            config = checked_router_config(rtr, {**rtr.config, **part})
            after = endpoints_named(rtr.router_type, config)
            await rsvc.update_router(
                session,
                web.account_key,
                rtr.key,
                config=config,
                extra_outbound_endpoints=merged_endpoints(
                    rtr.extra_outbound_endpoints, before, after
                ),
            )
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        async with web.db.sessions() as session:
            rtr = await _editable(session, web.account_key, key)
            typed = typed_config(rtr.router_type, form)
            return await _editor(web, session, rtr, typed, exc.status_code, str(exc))
    web.changed()
    await web.flash("success", f"{TITLES[rtr.router_type]} saved.")
    return web.redirect(f"/routers/{key}/#router-editor")
