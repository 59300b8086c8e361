"""Contact groups: the list with member counts, create, rename or re-query, delete, a group's
members page by page, and its CSV export.

A static group's count is exact and cheap (its membership rows). A smart group's members are
whoever matches its query now, so its count is a capped query; on the list each smart group's
count arrives in its own small request, so one broad query never holds up the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from vumigo.contacts import groups as group_service
from vumigo.contacts.dbutil import dialect_of
from vumigo.contacts.query import InvalidQuery
from vumigo.contacts.query_sql import contact_condition
from vumigo.db.models.contacts import ContactGroup, GroupMember
from vumigo.errors import InvalidInput, VumigoError
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.pages.contacts import export_response
from vumigo.web.pages.contacts_paging import (
    ContactPage,
    Count,
    count_contacts_capped,
    cursor_key,
    list_matching,
    member_page,
    static_counts,
)
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

PER_PAGE = 25
KINDS = ("", "static", "smart")


async def smart_condition(
    session: AsyncSession, account_key: str, group: ContactGroup
) -> ColumnElement[bool]:
    """Who is in a smart group: its query's matches, and its static members if it has any.

    Smart groups nearly never have static members too; without them the condition is the query
    alone, which the database can answer from the query's indexes (an OR with the members
    would make it read every contact).
    """
    dialect = dialect_of(session)
    assert group.query is not None
    members = select(GroupMember.contact_key).where(GroupMember.group_key == group.key)
    if (await session.scalars(members.limit(1))).first() is None:
        return contact_condition(group.query, account_key, dialect)
    return group_service.groups_condition([group], account_key, dialect)


async def member_count(web: Web, group: ContactGroup) -> Count:
    async with web.db.sessions() as session:
        if group.query is None:
            return Count((await static_counts(session, [group.key]))[group.key], False)
        where = await smart_condition(session, web.account_key, group)
        return await count_contacts_capped(session, web.account_key, where)


async def _list(web: Web, kind: str, p: str | None, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        found = await group_service.list_groups(session, web.account_key)
        if kind:
            found = [g for g in found if (g.query is None) == (kind == "static")]
        found.sort(key=lambda g: (g.name.casefold(), g.key))
        page = forms.paginate(found, forms.positive_int(p), PER_PAGE)
        counts = await static_counts(session, [g.key for g in page.items if g.query is None])
    extra.setdefault("values", {})
    return await web.page(
        "contacts/groups.html",
        status=status,
        nav="contacts",
        page=page,
        counts=counts,
        kind=kind,
        **extra,
    )


@router.get("/contacts/groups/")
async def group_list(web: Page, kind: str = "", p: str | None = None) -> Response:
    return await _list(web, forms.choice(kind, KINDS, ""), p)


@router.post("/contacts/groups/new")
async def create(web: Page) -> Response:
    form = await forms.read_form(web.request)
    values = {
        "name": forms.text(form, "name", label="Name"),
        "query": forms.text(form, "query", label="Query", max_length=4000),
    }
    try:
        if not values["name"]:
            raise InvalidInput("Give the group a name.")
        async with web.db.transaction() as session:
            group = await group_service.create_group(
                session, web.account_key, values["name"], values["query"] or None
            )
    except VumigoError as exc:
        return await _list(web, "", None, status=400, values=values, error=str(exc))
    kind = "Smart group" if group.query else "Group"
    await web.flash("success", f"{kind} “{group.name}” created.")
    return web.redirect(f"/contacts/groups/{group.key}/")


async def _show(
    web: Web, key: str, after: str | None, before: str | None, status: int = 200, **extra: Any
) -> Response:
    account = web.account_key
    query_error = None
    page: ContactPage | None = None
    count: Count | None = None
    async with web.db.sessions() as session:
        group = await group_service.get_group(session, account, key)
        if group.query is None:
            page = await member_page(session, account, group.key, after, before)
            count = Count((await static_counts(session, [group.key]))[group.key], False)
        else:
            try:
                where = await smart_condition(session, account, group)
                listing = await list_matching(session, account, where, after, before)
                page, count = listing.page, listing.count
            except InvalidQuery as exc:
                query_error = str(exc)
    extra.setdefault("values", {"name": group.name, "query": group.query or ""})
    return await web.page(
        "contacts/group.html",
        status=status,
        nav="contacts",
        group=group,
        page=page,
        count=count,
        query_error=query_error,
        **extra,
    )


@router.get("/contacts/groups/{key}/")
async def show(
    web: Page, key: str, after: str | None = None, before: str | None = None
) -> Response:
    return await _show(web, key, cursor_key(after), cursor_key(before))


@router.get("/contacts/groups/{key}/count")
async def count(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        group = await group_service.get_group(session, web.account_key, key)
    try:
        counted = await member_count(web, group)
    except InvalidQuery:
        return web.fragment("contacts/_count.html", count=None)
    return web.fragment("contacts/_count.html", count=counted)


@router.post("/contacts/groups/{key}/edit")
async def edit(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    values = {
        "name": forms.text(form, "name", label="Name"),
        "query": forms.text(form, "query", label="Query", max_length=4000),
    }
    try:
        async with web.db.transaction() as session:
            group = await group_service.get_group(session, web.account_key, key)
            changes: dict[str, Any] = {"name": values["name"]}
            if group.query is not None:
                if not values["query"]:
                    raise InvalidInput("A smart group needs a query.")
                changes["query"] = values["query"]
            await group_service.update_group(session, web.account_key, key, changes)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        return await _show(web, key, None, None, status=400, values=values, error=str(exc))
    await web.flash("success", "Saved.")
    return web.redirect(f"/contacts/groups/{key}/")


@router.post("/contacts/groups/{key}/delete")
async def delete(web: Page, key: str) -> Response:
    async with web.db.transaction() as session:
        group = await group_service.delete_group(session, web.account_key, key)
    await web.flash("success", f"Deleted the group “{group.name}”; its contacts are kept.")
    return web.redirect("/contacts/groups/")


@router.get("/contacts/groups/{key}/export.csv")
async def export(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        group = await group_service.get_group(session, web.account_key, key)
    return export_response(web, f"group-{group.key}.csv", group_key=group.key)
