"""Operator pages for users: the list, a new user in an existing account, and a user's page
(administrator or not, enabled or not, and a set-password link shown once)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import Response

from vumigo.accounts import queries, users
from vumigo.errors import InvalidInput
from vumigo.web import forms, sessions
from vumigo.web.context import Web
from vumigo.web.pages.admin_forms import checked, read_person, reset_link_for
from vumigo.web.pages.admin_guard import (
    PER_PAGE,
    Operator,
    as_bad_input,
    db_page,
    operator_router,
    sentence,
)

router = operator_router()


@router.get("/admin/users/")
async def user_list(web: Operator, q: str = "", p: str | None = None) -> Response:
    text = forms.query_text(q)
    async with web.db.sessions() as session:

        async def fetch(offset: int, limit: int) -> tuple[list[Any], int]:
            return await queries.search_users(session, text, offset=offset, limit=limit)

        page = await db_page(fetch, forms.positive_int(p), PER_PAGE)
    return await web.page("admin/users.html", nav="admin", tab="users", page=page, q=text)


async def _new_form(web: Web, status: int = 200, **extra: Any) -> Response:
    return await web.page("admin/user_new.html", status=status, nav="admin", tab="users", **extra)


@router.get("/admin/users/new")
async def new_user_form(web: Operator, account: str = "") -> Response:
    return await _new_form(web, values={"account": forms.query_text(account, 64)})


@router.post("/admin/users/new")
async def create_user(web: Operator) -> Response:
    form = await forms.read_form(web.request)
    values = {
        "account": forms.text(form, "account", max_length=64),
        "email": forms.text(form, "email", max_length=254),
        "name": forms.text(form, "name", max_length=255),
        "surname": forms.text(form, "surname", max_length=255),
        "is_admin": checked(form, "is_admin"),
    }
    try:
        if not values["account"]:
            raise InvalidInput("Give the key of the account the user is to belong to.")
        person = read_person(form)
        async with as_bad_input(), web.db.transaction() as session:
            made = await users.add_user(
                session,
                str(values["account"]),
                person.email,
                person.password or secrets.token_urlsafe(32),
                name=person.name,
                surname=person.surname,
                is_admin=bool(values["is_admin"]),
            )
            user_id = made.id
    except InvalidInput as exc:
        return await _new_form(web, status=400, values=values, error=sentence(str(exc)))
    if not person.password:
        link = await reset_link_for(web, person.email)
        return await _show(web, user_id, notices=[("success", "User created.")], link=link)
    await web.flash("success", f"User created; {person.email} can sign in.")
    return web.redirect(f"/admin/users/{user_id}/")


async def _show(web: Web, user_id: int, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        person = await users.get_user_by_id(session, user_id)
        account = await queries.get_account(session, person.account_key)
    return await web.page(
        "admin/user.html",
        status=status,
        nav="admin",
        tab="users",
        person=person,
        account=account,
        is_me=person.id == web.me.user_id,
        **extra,
    )


@router.get("/admin/users/{user_id}/")
async def show(web: Operator, user_id: int) -> Response:
    return await _show(web, user_id)


def _switch(form: Any) -> bool:
    value = forms.text(form, "on", max_length=8)
    if value not in ("1", "0"):
        raise InvalidInput("Say on=1 or on=0.")
    return value == "1"


@router.post("/admin/users/{user_id}/admin")
async def admin_switch(web: Operator, user_id: int) -> Response:
    form = await forms.read_form(web.request)
    try:
        on = _switch(form)
        if not on and user_id == web.me.user_id:
            raise InvalidInput("You cannot take away your own operator rights; ask another one.")
        async with web.db.transaction() as session:
            await users.set_admin(session, user_id, on)
    except InvalidInput as exc:
        return await _show(web, user_id, status=400, error=sentence(str(exc)))
    await web.flash("success", "Now an operator." if on else "No longer an operator.")
    return web.redirect(f"/admin/users/{user_id}/")


@router.post("/admin/users/{user_id}/active")
async def active_switch(web: Operator, user_id: int) -> Response:
    form = await forms.read_form(web.request)
    try:
        on = _switch(form)
        if not on and user_id == web.me.user_id:
            raise InvalidInput("You cannot disable yourself.")
        async with web.db.transaction() as session:
            await users.set_active(session, user_id, on)
    except InvalidInput as exc:
        return await _show(web, user_id, status=400, error=sentence(str(exc)))
    if not on:
        await sessions.end_others(web.db, user_id)
    await web.flash("success", "Enabled." if on else "Disabled: they are signed out everywhere.")
    return web.redirect(f"/admin/users/{user_id}/")


@router.post("/admin/users/{user_id}/reset")
async def reset(web: Operator, user_id: int) -> Response:
    async with web.db.sessions() as session:
        person = await users.get_user_by_id(session, user_id)
    link = await reset_link_for(web, person.email)
    if link is None:
        return await _show(
            web, user_id, status=400, error="This user is disabled: enable them first."
        )
    # Shown on this response only: the token itself is never stored.
    return await _show(web, user_id, link=link)
