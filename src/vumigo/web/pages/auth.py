"""Signing in and out, and resetting a forgotten password by e-mail."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from vumigo.accounts.users import authenticate
from vumigo.errors import InvalidInput
from vumigo.web import forms, passwords, sessions
from vumigo.web.context import Public
from vumigo.web.mail import send_mail
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

RESET_SENT = (
    "If that address belongs to an account, a link to choose a new password is on its way. "
    "It works once, for two hours."
)


def safe_next(value: str | None) -> str:
    """Only a path on this site: never another host (``//evil``) or a scheme."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/signin")
async def signin_form(web: Public, next: str | None = None) -> Response:
    if web.user is not None:
        return web.redirect(safe_next(next))
    return await web.page("auth/signin.html", next=safe_next(next), email="")


@router.post("/signin")
async def signin(web: Public) -> Response:
    form = await forms.read_form(web.request)
    email = forms.text(form, "email", max_length=254)
    password = forms.text(form, "password", strip=False, max_length=1024)
    target = safe_next(forms.text(form, "next", max_length=2000))
    async with web.db.transaction() as session:
        user = await authenticate(session, email, password)
    if user is None:
        return await web.page(
            "auth/signin.html",
            status=400,
            next=target,
            email=email,
            error="That e-mail address and password don't match an account.",
        )
    token = await sessions.start(web.db, user)
    response = web.redirect(target)
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(sessions.LIFETIME.total_seconds()),
        **sessions.cookie_options(web.settings),  # type: ignore[arg-type]
    )
    return response


@router.post("/signout")
async def signout(web: Public) -> Response:
    if web.user is not None:
        await sessions.end(web.db, web.user.id_hash)
    response = web.redirect("/signin")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.get("/password/reset")
async def reset_request_form(web: Public) -> Response:
    return await web.page("auth/reset_request.html", email="")


@router.post("/password/reset")
async def reset_request(web: Public) -> Response:
    form = await forms.read_form(web.request)
    email = forms.text(form, "email", max_length=254)
    made = await passwords.create_reset(web.db, email)
    if made is not None:
        token, user = made
        link = f"{web.settings.base_url}/password/reset/{token}"
        await send_mail(
            user.email,
            "Choose a new Vumi Go password",
            "Someone (we hope you) asked to reset the password of your Vumi Go account.\n\n"
            f"Choose a new password here (the link works once, for two hours):\n\n{link}\n\n"
            "If you did not ask for this, ignore this e-mail; your password stays as it is.\n",
        )
    return await web.page("auth/reset_request.html", email="", sent=RESET_SENT)


@router.get("/password/reset/{token}")
async def reset_form(web: Public, token: str) -> Response:
    live = await passwords.token_is_live(web.db, token)
    return await web.page("auth/reset_confirm.html", status=200 if live else 404, live=live)


@router.post("/password/reset/{token}")
async def reset(web: Public, token: str) -> Response:
    form = await forms.read_form(web.request)
    password = forms.text(form, "password", strip=False, max_length=1024)
    confirm = forms.text(form, "confirm", strip=False, max_length=1024)
    try:
        passwords.check_new_password(password, confirm)
        user_id = await passwords.use_reset(web.db, token, password)
    except InvalidInput as exc:
        live = await passwords.token_is_live(web.db, token)
        return await web.page("auth/reset_confirm.html", status=400, live=live, error=str(exc))
    await sessions.end_others(web.db, user_id)
    return await web.page(
        "auth/signin.html",
        next="/",
        email="",
        notices=[("success", "Your password is changed. Sign in with the new one.")],
    )
