"""Users, accounts, API tokens and app permissions: ``vumigo user|account|token|app ...``."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts import apps, queries, tokens, users
from vumigo.cli.common import (
    State,
    VumigoGroup,
    columns,
    emit,
    in_transaction,
    pass_state,
    when,
)
from vumigo.db.models import AccountToken


@click.group(cls=VumigoGroup)
def user() -> None:
    """Create users (each gets its own account) and set passwords."""


@user.command("create")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--password", required=True, help="Initial password.")
@click.option("--name", default="", help="First name.")
@click.option("--surname", default="", help="Surname.")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@pass_state
def user_create(
    state: State, email: str, password: str, name: str, surname: str, admin: bool
) -> None:
    """Create a user and its account; prints the account key."""

    async def work(session: AsyncSession) -> dict[str, str]:
        account = await users.create_user(
            session, email, password, name=name, surname=surname, is_admin=admin
        )
        return {"account_key": account.key, "email": users.normalise_email(email)}

    made = in_transaction(state, work)
    emit(state, made, made["account_key"])


@user.command("set-password")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--password", required=True, help="New password.")
@pass_state
def user_set_password(state: State, email: str, password: str) -> None:
    """Set a user's password."""

    async def work(session: AsyncSession) -> None:
        await users.set_password(session, email, password)

    in_transaction(state, work)
    emit(state, {"email": users.normalise_email(email)}, f"password set for {email.lower()}")


@click.group(cls=VumigoGroup)
def account() -> None:
    """List accounts and set their flags."""


@account.command("list")
@click.option("--show-pools", is_flag=True, help="Include tagpool permissions.")
@click.option("--show-tags", is_flag=True, help="Include the tags each account holds.")
@pass_state
def account_list(state: State, show_pools: bool, show_tags: bool) -> None:
    """List every account with its users and flags."""
    summaries = in_transaction(state, queries.list_accounts)
    data = []
    lines = []
    for item in summaries:
        entry: dict[str, object] = {
            "key": item.key,
            "name": item.name,
            "emails": item.emails,
            "flags": item.flags,
            "created_at": item.created_at,
        }
        lines.append(f"{item.key}  {', '.join(item.emails) or '-'}  {item.name}")
        if item.flags:
            lines.append(f"  flags: {', '.join(item.flags)}")
        if show_pools:
            entry["pools"] = [
                {"pool": p.pool, "max_keys": p.max_keys, "held": p.held} for p in item.pools
            ]
            for p in item.pools:
                limit = "no limit" if p.max_keys is None else f"at most {p.max_keys}"
                lines.append(f"  pool {p.pool}: holds {p.held} ({limit})")
        if show_tags:
            entry["tags"] = item.tags
            lines.extend(f"  tag {tag}" for tag in item.tags)
        data.append(entry)
    emit(state, data, lines or ["no accounts"])


@account.command("set")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--flag", required=True, type=click.Choice(queries.FLAGS), help="Flag to set.")
@click.option("--off", is_flag=True, help="Clear the flag instead of setting it.")
@pass_state
def account_set(state: State, account_key: str, flag: str, off: bool) -> None:
    """Set (or with --off clear) an account flag."""

    async def work(session: AsyncSession) -> list[str]:
        return (await queries.set_flag(session, account_key, flag, not off)).flags()

    flags = in_transaction(state, work)
    emit(
        state,
        {"account_key": account_key, "flags": flags},
        f"{account_key} flags: {', '.join(flags) or 'none'}",
    )


@click.group(cls=VumigoGroup)
def token() -> None:
    """Create, list and revoke account API tokens."""


@token.command("create")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--name", default="", help="A label to recognise the token by.")
@pass_state
def token_create(state: State, account_key: str, name: str) -> None:
    """Create an API token; it is printed this once and cannot be shown again."""

    async def work(session: AsyncSession) -> dict[str, object]:
        row, secret = await tokens.create_token(session, account_key, name)
        return {"id": row.id, "name": row.name, "account_key": account_key, "token": secret}

    made = in_transaction(state, work)
    emit(state, made, str(made["token"]))


@token.command("list")
@click.option("--account", "account_key", required=True, help="Account key.")
@pass_state
def token_list(state: State, account_key: str) -> None:
    """List an account's tokens (by id and prefix; the tokens themselves are not kept)."""

    async def work(session: AsyncSession) -> list[AccountToken]:
        return await queries.list_tokens(session, account_key)

    rows = in_transaction(state, work)
    data = [
        {
            "id": row.id,
            "name": row.name,
            "prefix": row.prefix,
            "created_at": row.created_at,
            "last_used_at": row.last_used_at,
            "revoked_at": row.revoked_at,
        }
        for row in rows
    ]
    table = [
        (
            row.id,
            row.name or "-",
            f"{row.prefix}...",
            when(row.created_at),
            when(row.last_used_at),
            "revoked" if row.revoked_at else "live",
        )
        for row in rows
    ]
    emit(state, data, columns(table, ["ID", "NAME", "PREFIX", "CREATED", "LAST USED", "STATE"]))


@token.command("revoke")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--id", "token_id", required=True, type=int, help="Token id (see token list).")
@pass_state
def token_revoke(state: State, account_key: str, token_id: int) -> None:
    """Revoke a token; requests using it are refused from now on."""

    async def work(session: AsyncSession) -> None:
        await tokens.revoke_token(session, account_key, token_id)

    in_transaction(state, work)
    emit(state, {"revoked": token_id}, f"token {token_id} revoked")


@click.group(cls=VumigoGroup)
def app() -> None:
    """Enable or disable conversation and router types for an account."""


def _toggle(state: State, account_key: str, app_type: str, enable: bool) -> None:
    async def work(session: AsyncSession) -> tuple[str, bool]:
        name = apps.app_type(app_type).name
        if enable:
            return name, await apps.enable_app(session, account_key, name)
        return name, await apps.disable_app(session, account_key, name)

    name, changed = in_transaction(state, work)
    verb = "enabled" if enable else "disabled"
    text = f"{name} {verb} for {account_key}" + ("" if changed else f" (it was already {verb})")
    emit(
        state,
        {"account_key": account_key, "type": name, "enabled": enable, "changed": changed},
        text,
    )


_APP_HELP = "Type, e.g. jsbox or keyword (or a module path such as go.apps.jsbox)."


@app.command("enable")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--type", "app_type", required=True, help=_APP_HELP)
@pass_state
def app_enable(state: State, account_key: str, app_type: str) -> None:
    """Let an account create conversations or routers of a type."""
    _toggle(state, account_key, app_type, True)


@app.command("disable")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--type", "app_type", required=True, help=_APP_HELP)
@pass_state
def app_disable(state: State, account_key: str, app_type: str) -> None:
    """Stop an account creating a type (existing ones are left alone)."""
    _toggle(state, account_key, app_type, False)


COMMANDS = (user, account, token, app)
