"""The account: profile, password change, API tokens (shown once) and the account's users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from vumigo.accounts.queries import get_account, list_tokens
from vumigo.accounts.tokens import create_token, revoke_token
from vumigo.accounts.users import authenticate, set_password
from vumigo.db.models import User
from vumigo.errors import InvalidInput, NotFound
from vumigo.web import forms, passwords, sessions
from vumigo.web.context import Page, Web
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

EMAIL_SUMMARIES = (("never", "Never"), ("daily", "Daily"), ("weekly", "Weekly"))


async def _details(web: Web, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        account = await get_account(session, web.account_key)
        user = await session.get(User, web.me.user_id)
    return await web.page(
        "account/details.html",
        status=status,
        nav="account",
        account=account,
        me=user,
        summaries=EMAIL_SUMMARIES,
        **extra,
    )


@router.get("/account/")
async def details(web: Page) -> Response:
    return await _details(web)


@router.post("/account/profile")
async def profile(web: Page) -> Response:
    form = await forms.read_form(web.request)
    try:
        name = forms.text(form, "name", label="First name")
        surname = forms.text(form, "surname", label="Surname")
        msisdn = forms.text(form, "msisdn", label="Mobile number", max_length=64)
        summary = forms.text(form, "email_summary", max_length=16)
        if summary not in dict(EMAIL_SUMMARIES):
            raise InvalidInput("Choose how often to get an e-mail summary.")
        if msisdn and not msisdn.lstrip("+").isdigit():
            raise InvalidInput("The mobile number may have only digits and a leading +.")
    except InvalidInput as exc:
        return await _details(web, status=400, profile_error=str(exc))
    async with web.db.transaction() as session:
        account = await get_account(session, web.account_key)
        user = await session.get(User, web.me.user_id)
        if user is not None:
            user.name, user.surname = name, surname
        account.msisdn = msisdn or None
        account.email_summary = summary
        account.confirm_start_conversation = forms.text(form, "confirm_start") == "on"
    await web.flash("success", "Your details are saved.")
    return web.redirect("/account/")


@router.post("/account/password")
async def change_password(web: Page) -> Response:
    form = await forms.read_form(web.request)
    current = forms.text(form, "current", strip=False, max_length=1024)
    new = forms.text(form, "password", strip=False, max_length=1024)
    confirm = forms.text(form, "confirm", strip=False, max_length=1024)
    try:
        passwords.check_new_password(new, confirm)
        async with web.db.transaction() as session:
            if await authenticate(session, web.me.email, current) is None:
                raise InvalidInput("The current password is not right.")
            await set_password(session, web.me.email, new)
    except InvalidInput as exc:
        return await _details(web, status=400, password_error=str(exc))
    # Anyone signed in elsewhere with the old password is signed out; this browser stays in.
    await sessions.end_others(web.db, web.me.user_id, keep=web.me.id_hash)
    await web.flash("success", "Your password is changed. Other browsers were signed out.")
    return web.redirect("/account/")


async def _tokens(web: Web, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        tokens = await list_tokens(session, web.account_key)
    return await web.page(
        "account/tokens.html",
        status=status,
        nav="account",
        tokens=list(reversed(tokens)),
        **extra,
    )


@router.get("/account/tokens")
async def tokens(web: Page) -> Response:
    return await _tokens(web)


@router.post("/account/tokens")
async def new_token(web: Page) -> Response:
    form = await forms.read_form(web.request)
    name = forms.text(form, "name", label="Name", max_length=255)
    async with web.db.transaction() as session:
        row, token = await create_token(session, web.account_key, name)
    # Shown on this response only: it is never stored, so it can't be shown again.
    return await _tokens(web, new_token=token, new_token_name=row.name)


@router.post("/account/tokens/{token_id}/revoke")
async def revoke(web: Page, token_id: int) -> Response:
    if not 0 < token_id < 2**62:  # beyond any id, and beyond what the database can compare
        raise NotFound(f"no live token {token_id}")
    async with web.db.transaction() as session:
        await revoke_token(session, web.account_key, token_id)
    await web.flash("success", "The token is revoked; requests using it are refused from now on.")
    return web.redirect("/account/tokens")


@router.get("/account/users")
async def users(web: Page) -> Response:
    async with web.db.sessions() as session:
        rows = await session.execute(
            select(User).where(User.account_key == web.account_key).order_by(User.email)
        )
        people = list(rows.scalars())
    return await web.page("account/users.html", nav="account", people=people)
