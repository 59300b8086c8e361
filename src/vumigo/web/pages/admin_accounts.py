"""Operator pages for accounts: the searchable list, a new account with its first user, and an
account's page (users, conversations, credit and a top-up, app types and flags, tag pools and
the tags it holds, disabling and enabling it)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from vumigo.accounts import apps, queries, users
from vumigo.billing import credit
from vumigo.billing.costs import parse_amount
from vumigo.billing.notify import credits_text
from vumigo.billing.step import Billing
from vumigo.channels import tagpools
from vumigo.db.models import Conversation, Tag, TagPool
from vumigo.db.models.billing import CREDIT_PLACES
from vumigo.errors import InvalidInput, VumigoError
from vumigo.web import forms, sessions
from vumigo.web.context import Web
from vumigo.web.pages.admin_forms import checked, read_max_keys, read_person, reset_link_for
from vumigo.web.pages.admin_guard import (
    PER_PAGE,
    Operator,
    as_bad_input,
    db_page,
    operator_router,
    sentence,
)

router = operator_router()

HELD_SHOWN = 100  # tags listed on an account's page; the pool pages list them all
FLAG_LABELS = {
    "can_manage_optouts": "May manage opt-outs (the opt-out API, the sandbox's optout resource)",
    "disable_optouts": "Ignore opt-outs: messages go to people who opted out",
    "is_developer": "Developer account",
}


async def _balances(session: AsyncSession, keys: list[str]) -> dict[str, str]:
    return {key: credits_text((await credit.credit_state(session, key)).balance) for key in keys}


@router.get("/admin/accounts/")
async def account_list(web: Operator, q: str = "", p: str | None = None) -> Response:
    text = forms.query_text(q)
    async with web.db.sessions() as session:

        async def fetch(offset: int, limit: int) -> tuple[list[Any], int]:
            return await queries.search_accounts(session, text, offset=offset, limit=limit)

        page = await db_page(fetch, forms.positive_int(p), PER_PAGE)
        balances = await _balances(session, [row.key for row in page.items])
    return await web.page(
        "admin/accounts.html", nav="admin", tab="accounts", page=page, q=text, balances=balances
    )


@router.get("/admin/accounts/new")
async def new_account_form(web: Operator) -> Response:
    return await web.page(
        "admin/account_new.html", nav="admin", tab="accounts", values={"all_apps": True}
    )


@router.post("/admin/accounts/new")
async def create_account(web: Operator) -> Response:
    form = await forms.read_form(web.request)
    values = {
        "account_name": forms.text(form, "account_name", label="Account name"),
        "email": forms.text(form, "email", max_length=254),
        "name": forms.text(form, "name", label="First name"),
        "surname": forms.text(form, "surname", label="Surname"),
        "all_apps": checked(form, "all_apps"),
    }
    try:
        person = read_person(form)
        async with as_bad_input(), web.db.transaction() as session:
            account = await users.create_user(
                session,
                person.email,
                person.password or secrets.token_urlsafe(32),
                name=person.name,
                surname=person.surname,
            )
            if values["account_name"]:
                account.name = str(values["account_name"])
            if values["all_apps"]:
                await apps.enable_apps(session, account.key)
            key, name = account.key, account.name
    except InvalidInput as exc:
        return await web.page(
            "admin/account_new.html",
            status=400,
            nav="admin",
            tab="accounts",
            values=values,
            error=sentence(str(exc)),
        )
    web.changed()
    if not person.password:
        link = await reset_link_for(web, person.email)
        return await _show(web, key, notices=[("success", f"Account “{name}” created.")], link=link)
    await web.flash("success", f"Account “{name}” created; {person.email} can sign in.")
    return web.redirect(f"/admin/accounts/{key}/")


async def _account_figures(session: AsyncSession, key: str) -> dict[str, Any]:
    live = (Conversation.account_key == key) & Conversation.archived.is_(False)
    counts = (
        await session.execute(
            select(func.count(), func.count().filter(Conversation.status == "running")).where(live)
        )
    ).one()
    held_by_pool = await session.execute(
        select(Tag.pool, func.count()).where(Tag.owner == key).group_by(Tag.pool)
    )
    held_tags = await session.execute(
        select(Tag.pool, Tag.tag, Tag.acquired_at)
        .where(Tag.owner == key)
        .order_by(Tag.pool, Tag.tag)
        .limit(HELD_SHOWN)
    )
    return {
        "conversations": int(counts[0]),
        "running": int(counts[1]),
        "held_by_pool": {str(pool): int(n) for pool, n in held_by_pool},
        "held_tags": list(held_tags),
    }


async def _show(web: Web, key: str, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        account = await queries.get_account(session, key)
        people = await queries.account_users(session, key)
        figures = await _account_figures(session, key)
        state = await credit.credit_state(session, key)
        allowed = await apps.allowed_types(session, key)
        grants = await tagpools.pool_permissions(session, key)
        pool_names = list(
            (await session.execute(select(TagPool.name).order_by(TagPool.name))).scalars()
        )
    return await web.page(
        "admin/account.html",
        status=status,
        nav="admin",
        tab="accounts",
        account=account,
        people=people,
        disabled=bool(people) and not any(person.is_active for person in people),
        balance=credits_text(state.balance),
        last_topup=credits_text(state.last_topup_balance),
        allowed=allowed,
        conversation_types=apps.CONVERSATION_TYPES,
        router_types=apps.ROUTER_TYPES,
        flags=FLAG_LABELS,
        grants=grants,
        pool_names=pool_names,
        held_shown=HELD_SHOWN,
        **figures,
        **extra,
    )


@router.get("/admin/accounts/{key}/")
async def show(web: Operator, key: str) -> Response:
    return await _show(web, key)


async def _refused(web: Web, key: str, exc: VumigoError, section: str) -> Response:
    """The account page again, with the form's error next to it, as a 400."""
    return await _show(web, key, status=400, errors={section: sentence(str(exc))})


@router.post("/admin/accounts/{key}/disable")
async def disable(web: Operator, key: str) -> Response:
    if key == web.account_key:
        refusal = InvalidInput("This is your own account: disabling it would lock you out too.")
        return await _refused(web, key, refusal, "account")
    async with web.db.transaction() as session:
        changed = await users.set_account_active(session, key, False)
    for user_id in changed:
        await sessions.end_others(web.db, user_id)
    await web.flash("success", "The account is disabled: its users can no longer sign in.")
    return web.redirect(f"/admin/accounts/{key}/")


@router.post("/admin/accounts/{key}/enable")
async def enable(web: Operator, key: str) -> Response:
    async with web.db.transaction() as session:
        await users.set_account_active(session, key, True)
    await web.flash("success", "The account is enabled: its users can sign in again.")
    return web.redirect(f"/admin/accounts/{key}/")


@router.post("/admin/accounts/{key}/permissions")
async def permissions(web: Operator, key: str) -> Response:
    form = await forms.read_form(web.request)
    try:
        wanted = {apps.app_type(str(name)).name for name in form.getlist("app")}
        flags = {str(name) for name in form.getlist("flag")}
        unknown = flags - set(queries.FLAGS)
        if unknown:
            raise InvalidInput(f"Unknown account flag {sorted(unknown)[0]!r}.")
        async with web.db.transaction() as session:
            allowed = await apps.allowed_types(session, key)
            await queries.get_account(session, key)
            for name in sorted(wanted - allowed):
                await apps.enable_app(session, key, name)
            for name in sorted(allowed - wanted):
                await apps.disable_app(session, key, name)
            for flag in queries.FLAGS:
                await queries.set_flag(session, key, flag, flag in flags)
    except InvalidInput as exc:
        return await _refused(web, key, exc, "permissions")
    web.changed()
    await web.flash("success", "Permissions saved.")
    return web.redirect(f"/admin/accounts/{key}/")


@router.post("/admin/accounts/{key}/pools")
async def assign_pool(web: Operator, key: str) -> Response:
    form = await forms.read_form(web.request)
    async with web.db.sessions() as session:
        await queries.get_account(session, key)
    try:
        pool = forms.text(form, "pool", label="Pool", required=True, max_length=128)
        max_keys = read_max_keys(form)
        async with as_bad_input(), web.db.transaction() as session:
            await tagpools.assign_pool(session, key, pool, max_keys)
    except InvalidInput as exc:
        return await _refused(web, key, exc, "pools")
    web.changed()
    limit = "any number of" if max_keys is None else f"up to {max_keys}"
    await web.flash("success", f"The account may hold {limit} tags of {pool}.")
    return web.redirect(f"/admin/accounts/{key}/")


@router.post("/admin/accounts/{key}/pools/remove")
async def remove_pool(web: Operator, key: str) -> Response:
    form = await forms.read_form(web.request)
    pool = forms.text(form, "pool", label="Pool", required=True, max_length=128)
    async with as_bad_input(), web.db.transaction() as session:
        await queries.get_account(session, key)
        await tagpools.remove_pool_permission(session, key, pool)
    web.changed()
    await web.flash(
        "success", f"The account may no longer take tags of {pool}; those it holds stay."
    )
    return web.redirect(f"/admin/accounts/{key}/")


def _forget_credit(web: Web, key: str) -> None:
    # The running billing step caches balances for its cutoff check: drop this account's, so
    # messages held for want of credit go out now rather than after the cache expires.
    running = getattr(web.platform.engine, "billing", None)
    if isinstance(running, Billing):
        running.forget(key)


@router.post("/admin/accounts/{key}/topup")
async def top_up(web: Operator, key: str) -> Response:
    form = await forms.read_form(web.request)
    async with web.db.sessions() as session:
        await queries.get_account(session, key)
    try:
        raw = forms.text(form, "amount", label="Credits", required=True, max_length=32)
        amount = parse_amount(raw, "the amount of credits", CREDIT_PLACES)
        note = forms.text(form, "note", label="Note")
        async with as_bad_input(), web.db.transaction() as session:
            after = await credit.top_up(session, key, amount, note)
    except InvalidInput as exc:
        return await _refused(web, key, exc, "credit")
    _forget_credit(web, key)
    await web.flash(
        "success",
        f"Added {credits_text(amount)} credits: the balance is now {credits_text(after.balance)}.",
    )
    return web.redirect(f"/admin/accounts/{key}/")
