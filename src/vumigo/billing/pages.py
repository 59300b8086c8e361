"""The billing pages: an account's credit and statements, and the operator's billing page.

``/billing/`` shows the signed-in account's balance, the low-credit banner, held messages and
its monthly statements (HTML and CSV). ``/billing/admin/`` is for operators (users with
``is_admin``): every account's month, top-ups, prices and the low-credit policy.

The templates live beside this module and extend the UI's ``base.html``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from jinja2 import ChoiceLoader, FileSystemLoader
from starlette.responses import HTMLResponse, Response

from vumigo.billing import costs, credit, held, policy, statements
from vumigo.billing.notify import banner, credits_text
from vumigo.billing.step import Billing, current_policy
from vumigo.errors import InvalidInput, NotFound
from vumigo.runtime import Platform
from vumigo.web import forms, sessions
from vumigo.web.context import Page, Web
from vumigo.web.templating import environment
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

_ui_loader = environment.loader
assert _ui_loader is not None
# This package's templates first, then the UI's (for base.html and the macros).
_templates = environment.overlay(
    loader=ChoiceLoader([FileSystemLoader(Path(__file__).parent / "templates"), _ui_loader])
)
_templates.filters["credits"] = credits_text


def install(app: FastAPI, _platform: Platform) -> None:
    app.include_router(router)


async def _page(web: Web, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """As ``Web.page``, from this package's templates; a credit banner shows as a flash."""
    flashes = await sessions.take_flashes(web.db, web.user) if web.user else []
    shown = context.pop("banner", None)
    if shown is not None:
        flashes = [(shown.level, shown.text), *flashes]
    html = _templates.get_template(template).render(
        request=web.request,
        web=web,
        user=web.user,
        csrf_token=web.csrf_token,
        path=web.request.url.path,
        params=dict(web.request.query_params),
        flashes=flashes,
        nav="billing",
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _billing(web: Web) -> Billing | None:
    found = getattr(web.platform.engine, "billing", None)
    return found if isinstance(found, Billing) else None


async def _policy(web: Web) -> policy.Policy:
    return await current_policy(web.platform.engine, web.db, web.settings)


def _changed(web: Web) -> None:
    running = _billing(web)
    if running is not None:
        running.forget()


def _month(text: str | None) -> tuple[int, int]:
    now = datetime.now(UTC)
    return statements.parse_month(text) if text else (now.year, now.month)


# -- the account's pages ---------------------------------------------------------------------


@router.get("/billing/")
async def overview(web: Page) -> Response:
    key = web.account_key
    rules = await _policy(web)
    async with web.db.sessions() as session:
        state = await credit.credit_state(session, key)
        shown = await banner(session, key, rules)
        held_list = await held.held_messages(session, key, limit=20)
        held_count = await held.count_held(session, key)
        first = await statements.first_month(session, key)
        recent = await credit.recent_transactions(session, key, limit=20)
    now = datetime.now(UTC)
    return await _page(
        web,
        "billing/account.html",
        banner=shown,
        state=state,
        percent=policy.percent_of(state.balance, state.last_topup_balance),
        rules=rules,
        held=held_list,
        held_count=held_count,
        months=statements.months_between(first, (now.year, now.month)) if first else [],
        recent=recent,
    )


@router.get("/billing/statements/{month}.csv")
async def statement_csv(web: Page, month: str) -> Response:
    year, mon = _month(month)
    async with web.db.sessions() as session:
        stmt = await statements.statement(session, web.account_key, year, mon)
    return Response(
        statements.statement_csv(stmt),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{stmt.label}.csv"'},
    )


@router.get("/billing/statements/{month}")
async def statement_page(web: Page, month: str) -> Response:
    year, mon = _month(month)
    async with web.db.sessions() as session:
        stmt = await statements.statement(session, web.account_key, year, mon)
    return await _page(web, "billing/statement.html", stmt=stmt)


# -- the operator's page -------------------------------------------------------------------


def _operator(web: Web) -> None:
    # Not found, like every operator page: others are not told that it exists.
    if not web.me.is_admin:
        raise NotFound("Page not found.")


@router.get("/billing/admin/")
async def admin(web: Page, month: str | None = None) -> Response:
    _operator(web)
    year, mon = _month(month)
    async with web.db.sessions() as session:
        report = await statements.operator_report(session, year, mon)
        prices = await costs.list_costs(session)
    return await _page(
        web,
        "billing/admin.html",
        label=f"{year:04d}-{mon:02d}",
        report=report,
        prices=[costs.describe(row) for row in prices],
        rules=await _policy(web),
        directions=costs.DIRECTIONS,
    )


@router.get("/billing/admin/report.csv")
async def admin_report_csv(web: Page, month: str | None = None) -> Response:
    _operator(web)
    year, mon = _month(month)
    async with web.db.sessions() as session:
        report = await statements.operator_report(session, year, mon)
    return Response(
        statements.report_csv(year, mon, report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="billing-{year}-{mon:02d}.csv"'},
    )


def _price(form: Any, name: str, label: str, places: int = 3, default: str = "0") -> Decimal:
    raw = forms.text(form, name, label=label, max_length=32) or default
    return costs.parse_amount(raw, label.lower(), places)


@router.post("/billing/admin/topup")
async def admin_top_up(web: Page) -> Response:
    _operator(web)
    form = await forms.read_form(web.request)
    key = forms.text(form, "account", label="Account", required=True, max_length=64)
    amount = _price(form, "amount", "Amount", places=6, default="")
    note = forms.text(form, "note", label="Note")
    async with web.db.transaction() as session:
        after = await credit.top_up(session, key, amount, note)
    _changed(web)
    await web.flash(
        "success",
        f"Added {credits_text(amount)} credits to {key}: the balance is now "
        f"{credits_text(after.balance)}. Held messages go out within seconds.",
    )
    return web.redirect("/billing/admin/")


@router.post("/billing/admin/costs")
async def admin_set_cost(web: Page) -> Response:
    _operator(web)
    form = await forms.read_form(web.request)
    direction = costs.check_direction(forms.text(form, "direction", max_length=16))
    price = costs.Cost(
        message_cost=_price(form, "message_cost", "Message cost"),
        storage_cost=_price(form, "storage_cost", "Storage cost"),
        session_cost=_price(form, "session_cost", "Session cost"),
        session_unit_cost=_price(form, "session_unit_cost", "Session unit cost"),
        session_unit_time=_price(form, "session_unit_time", "Session unit time", default="20"),
        markup_percent=_price(form, "markup_percent", "Markup", places=2),
    )
    scope = [forms.text(form, name, max_length=128) or None for name in ("account", "pool")]
    provider = forms.text(form, "provider", max_length=64) or None
    async with web.db.transaction() as session:
        if scope[0] is not None:
            await credit.require_account(session, scope[0])
        await costs.set_cost(session, direction, price, scope[0], scope[1], provider)
    _changed(web)
    await web.flash("success", f"The {direction} price is saved.")
    return web.redirect("/billing/admin/")


@router.post("/billing/admin/costs/{cost_id}/remove")
async def admin_remove_cost(web: Page, cost_id: int) -> Response:
    _operator(web)
    async with web.db.transaction() as session:
        await costs.remove_cost(session, cost_id)
    _changed(web)
    await web.flash("success", "The price is removed.")
    return web.redirect("/billing/admin/")


@router.post("/billing/admin/policy")
async def admin_policy(web: Page) -> Response:
    _operator(web)
    form = await forms.read_form(web.request)
    reset = forms.text(form, "reset") == "on"
    levels = None if reset else policy.parse_percentages(forms.text(form, "thresholds"))
    cutoff = None if reset else forms.text(form, "cutoff") == "on"
    if levels is not None and not levels:
        raise InvalidInput("Give at least one threshold, e.g. 10,20,50.")
    async with web.db.transaction() as session:
        await policy.save_policy(session, levels, cutoff, reset=reset)
    _changed(web)
    await web.flash("success", "The low-credit policy is saved.")
    return web.redirect("/billing/admin/")
