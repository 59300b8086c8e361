"""Credit and prices: ``vumigo credit add|show|policy|statement|report`` and ``vumigo cost ...``.

``credit add`` is what the original documentation's ``go_manage_credit --add-credit`` promised.
A top-up made here is seen by a running platform within seconds: it releases the account's held
messages on its next sweep.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.users import get_user
from vumigo.billing import costs, credit, held, policy, statements
from vumigo.cli.common import State, VumigoGroup, columns, emit, in_transaction, pass_state
from vumigo.errors import InvalidInput

_ACCOUNT_HELP = "Account key (or the e-mail address of one of its users)."


async def _account_key(session: AsyncSession, account: str) -> str:
    if "@" in account:
        return (await get_user(session, account)).account_key
    await credit.require_account(session, account)
    return account


def _month(text: str | None) -> tuple[int, int]:
    try:
        return statements.parse_month(text or datetime.now(UTC).strftime("%Y-%m"))
    except InvalidInput as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc


async def _credit_view(session: AsyncSession, key: str, rules: policy.Policy) -> dict[str, Any]:
    state = await credit.credit_state(session, key)
    return {
        "account": key,
        "balance": str(state.balance),
        "last_topup_balance": str(state.last_topup_balance),
        "percent_of_last_topup": policy.percent_of(state.balance, state.last_topup_balance),
        "low_credit_level": policy.level_of(rules, state.balance, state.last_topup_balance),
        "cut_off": policy.below_cutoff(rules, state.balance, state.last_topup_balance),
        "held_messages": await held.count_held(session, key),
    }


def _credit_lines(view: dict[str, Any]) -> list[str]:
    lines = [
        f"account:            {view['account']}",
        f"balance:            {view['balance']} credits",
        f"last top-up:        {view['last_topup_balance']} credits",
    ]
    if view["percent_of_last_topup"] is not None:
        lines.append(f"of last top-up:     {view['percent_of_last_topup']}%")
    if view["low_credit_level"] is not None:
        lines.append(f"low credit:         below {view['low_credit_level']}%")
    if view["cut_off"]:
        lines.append("cut off:            yes (outbound messages are held)")
    if view["held_messages"]:
        lines.append(f"held messages:      {view['held_messages']}")
    return lines


@click.group("credit", cls=VumigoGroup)
def credit_group() -> None:
    """Top up accounts, show their credit, statements and the low-credit policy."""


@credit_group.command("add")
@click.option("--account", required=True, help=_ACCOUNT_HELP)
@click.option("--amount", required=True, help="Credits to add (10 credits = 1 US cent).")
@click.option("--note", default="", help="Why, for the account's statement.")
@pass_state
def credit_add(state: State, account: str, amount: str, note: str) -> None:
    """Top up an account; its balance after this is the base of the low-credit thresholds."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        key = await _account_key(session, account)
        after = await credit.top_up(session, key, amount, note)
        return {"account": key, "added": str(Decimal(amount)), "balance": str(after.balance)}

    done = in_transaction(state, work)
    emit(state, done, f"added {done['added']} credits to {done['account']}: {done['balance']}")


@credit_group.command("show")
@click.option("--account", required=True, help=_ACCOUNT_HELP)
@pass_state
def credit_show(state: State, account: str) -> None:
    """Show an account's balance and last top-up."""
    defaults = policy.from_settings(state.settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        key = await _account_key(session, account)
        return await _credit_view(session, key, await policy.load_policy(session, defaults))

    view = in_transaction(state, work)
    emit(state, view, _credit_lines(view))


@credit_group.command("policy")
@click.option("--thresholds", help="Low-credit thresholds, percent of the last top-up: 10,20,50.")
@click.option("--cutoff/--no-cutoff", default=None, help="Hold outbound messages below the lowest.")
@click.option("--reset", is_flag=True, help="Go back to the settings' thresholds and cutoff.")
@pass_state
def credit_policy(state: State, thresholds: str | None, cutoff: bool | None, reset: bool) -> None:
    """Show or change the low-credit thresholds and the cutoff (changes apply within seconds)."""
    defaults = policy.from_settings(state.settings)
    try:
        levels = policy.parse_percentages(thresholds) if thresholds is not None else None
    except InvalidInput as exc:
        raise click.BadParameter(str(exc), param_hint="--thresholds") from exc

    async def work(session: AsyncSession) -> policy.Policy:
        if reset or levels is not None or cutoff is not None:
            await policy.save_policy(session, levels, cutoff, reset=reset)
        return await policy.load_policy(session, defaults)

    rules = in_transaction(state, work)
    data = {"thresholds": list(rules.percentages), "cutoff": rules.cutoff, "emails": rules.emails}
    emit(
        state,
        data,
        [
            "thresholds: " + (", ".join(f"{p}%" for p in rules.percentages) or "none"),
            f"cutoff:     {'on' if rules.cutoff else 'off'}",
        ],
    )


@credit_group.command("statement")
@click.option("--account", required=True, help=_ACCOUNT_HELP)
@click.option("--month", default=None, help="YYYY-MM (default: this month).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@pass_state
def credit_statement(state: State, account: str, month: str | None, as_csv: bool) -> None:
    """An account's statement for a month: messages, sessions, length, storage, by channel."""
    year, mon = _month(month)

    async def work(session: AsyncSession) -> statements.Statement:
        key = await _account_key(session, account)
        return await statements.statement(session, key, year, mon)

    stmt = in_transaction(state, work)
    if as_csv:
        click.echo(statements.statement_csv(stmt), nl=False)
        return
    rows = [(ln.channel, ln.description, ln.units, ln.unit, ln.credits) for ln in stmt.lines]
    data = {
        "account": stmt.account_key,
        "month": stmt.label,
        "lines": [
            {
                "channel": ln.channel,
                "description": ln.description,
                "units": str(ln.units),
                "unit": ln.unit,
                "credits": str(ln.credits),
            }
            for ln in stmt.lines
        ],
        "charged": str(stmt.charged),
        "topped_up": str(stmt.topped_up),
        "opening_balance": str(stmt.opening_balance),
        "closing_balance": str(stmt.closing_balance),
    }
    text = [f"{stmt.account_name} ({stmt.account_key}), {stmt.label}"]
    text += columns(rows, ("channel", "item", "units", "", "credits")) if rows else ["no charges"]
    text += [
        f"charged: {stmt.charged}  topped up: {stmt.topped_up}",
        f"opening balance: {stmt.opening_balance}  closing balance: {stmt.closing_balance}",
    ]
    emit(state, data, text)


@credit_group.command("report")
@click.option("--month", default=None, help="YYYY-MM (default: this month).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@pass_state
def credit_report(state: State, month: str | None, as_csv: bool) -> None:
    """Every account's messages, charges, top-ups and balance for a month."""
    year, mon = _month(month)

    async def work(session: AsyncSession) -> list[statements.ReportRow]:
        return await statements.operator_report(session, year, mon)

    rows = in_transaction(state, work)
    if as_csv:
        click.echo(statements.report_csv(year, mon, rows), nl=False)
        return
    table = [
        (
            r.account_key,
            r.account_name,
            r.inbound,
            r.outbound,
            r.sessions,
            r.charged,
            r.topped_up,
            r.balance,
        )
        for r in rows
    ]
    headers = ("account", "name", "in", "out", "sessions", "charged", "topped up", "balance")
    data = [
        {
            "account": r.account_key,
            "name": r.account_name,
            "inbound": r.inbound,
            "outbound": r.outbound,
            "sessions": r.sessions,
            "charged": str(r.charged),
            "topped_up": str(r.topped_up),
            "balance": str(r.balance),
            "last_topup_balance": str(r.last_topup_balance),
        }
        for r in rows
    ]
    emit(state, data, columns(table, headers) if table else ["no accounts with credit"])


@click.group(cls=VumigoGroup)
def cost() -> None:
    """Set and list message prices (US cents), per direction, account, pool and provider."""


def _amount(value: str | None, what: str, places: int = 3) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        return costs.parse_amount(value, what, places)
    except InvalidInput as exc:
        raise click.BadParameter(str(exc)) from exc


@cost.command("set")
@click.option("--account", help="Only for this account (default: every account).")
@click.option("--pool", help="Only for this tag pool (default: every pool).")
@click.option("--provider", help="Only for this network provider, e.g. mtn (default: any).")
@click.option("--direction", required=True, type=click.Choice(costs.DIRECTIONS))
@click.option("--message-cost", required=True, help="Cents per message.")
@click.option("--storage-cost", help="Cents per message for storage.")
@click.option("--session-cost", help="Cents per session started.")
@click.option("--session-unit-cost", help="Cents per started unit of session time.")
@click.option("--session-unit-time", help="Seconds in a session unit (default 20).")
@click.option("--markup", help="Markup percent on all of the above.")
@pass_state
def cost_set(
    state: State,
    account: str | None,
    pool: str | None,
    provider: str | None,
    direction: str,
    message_cost: str,
    storage_cost: str | None,
    session_cost: str | None,
    session_unit_cost: str | None,
    session_unit_time: str | None,
    markup: str | None,
) -> None:
    """Create or replace the prices for one scope; the most specific scope applies."""
    if session_unit_cost is not None and session_unit_time is None:
        raise click.UsageError("--session-unit-cost needs --session-unit-time")
    prices = costs.Cost(
        message_cost=_amount(message_cost, "message cost"),
        storage_cost=_amount(storage_cost, "storage cost"),
        session_cost=_amount(session_cost, "session cost"),
        session_unit_cost=_amount(session_unit_cost, "session unit cost"),
        session_unit_time=(
            _amount(session_unit_time, "session unit time")
            if session_unit_time is not None
            else costs.DEFAULT_UNIT_TIME
        ),
        markup_percent=_amount(markup, "markup", 2),
    )

    async def work(session: AsyncSession) -> costs.CostRow:
        key = await _account_key(session, account) if account else None
        return await costs.set_cost(session, direction, prices, key, pool, provider)

    row = in_transaction(state, work)
    data = costs.describe(row)
    emit(
        state,
        data,
        f"cost {row.id}: {data['credits_per_message']} credits per {direction} "
        "message (before session charges)",
    )


@cost.command("list")
@click.option("--account", help="Only the prices that can apply to this account.")
@pass_state
def cost_list(state: State, account: str | None) -> None:
    """List the prices, most general first."""

    async def work(session: AsyncSession) -> list[costs.CostRow]:
        key = await _account_key(session, account) if account else None
        return await costs.list_costs(session, key)

    data = [costs.describe(row) for row in in_transaction(state, work)]
    keys = (
        "id",
        "account",
        "pool",
        "provider",
        "direction",
        "message_cost",
        "storage_cost",
        "session_cost",
        "session_unit_cost",
        "session_unit_time",
        "markup_percent",
    )
    headers = (
        "id",
        "account",
        "pool",
        "provider",
        "dir",
        "msg",
        "storage",
        "session",
        "unit",
        "unit s",
        "markup %",
    )
    rows = [[item[k] if item[k] is not None else "*" for k in keys] for item in data]
    emit(state, data, columns(rows, headers) if rows else ["no prices set"])


@cost.command("remove")
@click.argument("cost_id", type=int)
@pass_state
def cost_remove(state: State, cost_id: int) -> None:
    """Remove a price row by its id (see ``vumigo cost list``)."""

    async def work(session: AsyncSession) -> None:
        await costs.remove_cost(session, cost_id)

    in_transaction(state, work)
    emit(state, {"removed": cost_id}, f"removed cost {cost_id}")


COMMANDS = (credit_group, cost)
