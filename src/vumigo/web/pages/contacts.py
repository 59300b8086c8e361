"""Contacts: the list with Lucene search and paging, CSV export, and bulk group changes.

A search is the smart groups' query language (``vumigo.contacts.query``): ``name:Thandi``,
``extras-city:CPT AND NOT surname:Smith``, ``msisdn:\\+2782*``. A bare word searches names, as
in the original (``Thandi`` is ``name:Thandi``); a bare phone number looks the number up.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response, StreamingResponse

from vumigo.contacts import groups as group_service
from vumigo.contacts.dbutil import dialect_of
from vumigo.contacts.export import csv_chunks
from vumigo.contacts.fields import normalise_address
from vumigo.contacts.query import InvalidQuery, parse
from vumigo.contacts.query_sql import contact_condition
from vumigo.db.models.contacts import ContactGroup
from vumigo.errors import InvalidInput
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.pages.contacts_paging import cursor_key, list_matching
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

# Longer is refused by the parser ("too long"), not cut short into another query.
MAX_QUERY = 4000
MAX_SELECTED = 500
# The groups offered in pickers; an account with more finds the rest on the groups page.
MAX_PICKER_GROUPS = 500
_PHONE = re.compile(r"^\+?[\d\s().-]{5,30}$")


def search_query(raw: str) -> str | None:
    """The Lucene query a search box's text means, or None for "everyone"."""
    text = raw.strip()
    if not text:
        return None
    if ":" in text:
        return text
    if _PHONE.match(text):
        number = normalise_address("msisdn", re.sub(r"[\s().-]", "", text))
        return f'msisdn:"{number}"'
    # As the original's search box: text without a field is a name (an indexed lookup).
    return f"name:{text}"


async def static_groups(web: Web) -> list[ContactGroup]:
    """The account's static groups by name, for "add to group" pickers."""
    async with web.db.sessions() as session:
        stmt = (
            select(ContactGroup)
            .where(ContactGroup.account_key == web.account_key, ContactGroup.query.is_(None))
            .order_by(ContactGroup.name, ContactGroup.key)
            .limit(MAX_PICKER_GROUPS)
        )
        return list((await session.scalars(stmt)).all())


@router.get("/contacts/")
async def contact_list(
    web: Page, q: str = "", after: str | None = None, before: str | None = None
) -> Response:
    text = forms.query_text(q, MAX_QUERY + 1)
    partial = web.is_htmx and web.request.headers.get("hx-target") == "contact-results"
    context: dict[str, Any] = {"nav": "contacts", "q": text, "page": None, "count": None}
    status = 200
    query = search_query(text)
    async with web.db.sessions() as session:
        try:
            where = (
                contact_condition(parse(query), web.account_key, dialect_of(session))
                if query
                else None
            )
        except InvalidQuery as exc:
            where, status, context["error"] = None, 400, str(exc)
        if status == 200:
            listing = await list_matching(
                session, web.account_key, where, cursor_key(after), cursor_key(before)
            )
            context["page"], context["count"] = listing.page, listing.count
    context["groups"] = await static_groups(web)
    if partial:
        return web.fragment("contacts/_results.html", status=status, **context)
    return await web.page("contacts/list.html", status=status, **context)


def _download(name: str, chunks: AsyncIterator[bytes]) -> Response:
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def export_response(web: Web, name: str, **which: str | None) -> Response:
    """The account's contacts (of a group, or matching a query) as a streamed CSV download."""
    account = web.account_key

    async def chunks() -> AsyncIterator[bytes]:
        async with web.db.sessions() as session:
            async for chunk in csv_chunks(session, account, **which):
                yield chunk

    return _download(name, chunks())


@router.get("/contacts/export.csv")
async def export_search(web: Page, q: str = "") -> Response:
    query = search_query(forms.query_text(q, MAX_QUERY + 1))
    if query is not None:
        parse(query)  # a bad query is a 400 page now, not a broken download later
    return export_response(web, "contacts.csv", query=query)


def _back(raw: str) -> str:
    """Where a bulk action returns to: a contacts page of ours, never another site."""
    if raw.startswith("/contacts/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/contacts/"


@router.post("/contacts/bulk")
async def bulk(web: Page) -> Response:
    form = await forms.read_form(web.request)
    back = _back(forms.text(form, "next", max_length=5000))
    keys = [k for k in form.getlist("contact") if isinstance(k, str) and k]
    action = forms.choice(forms.text(form, "action", max_length=16), ("add", "remove"), "")
    group_key = forms.text(form, "group", label="Group", max_length=64)
    if not action:
        raise InvalidInput("Choose whether to add the contacts to the group or remove them.")
    if not keys:
        raise InvalidInput("Select at least one contact first.")
    if len(keys) > MAX_SELECTED:
        raise InvalidInput(f"Select at most {MAX_SELECTED} contacts at a time.")
    if not group_key:
        raise InvalidInput("Choose a group.")
    async with web.db.transaction() as session:
        group = await group_service.get_group(session, web.account_key, group_key)
        if group.query is not None:
            raise InvalidInput("A smart group's members come from its query; pick a static group.")
        if action == "add":
            await group_service.add_to_group(session, web.account_key, group.key, keys)
        else:
            await group_service.remove_from_group(session, web.account_key, group.key, keys)
    done = "Added to" if action == "add" else "Removed from"
    await web.flash("success", f"{done} “{group.name}”: {len(set(keys)):,} contacts.")
    return web.redirect(back)
