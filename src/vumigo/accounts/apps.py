"""The known conversation and router types, and which of them each account may create.

The original granted applications by module path (``go.apps.jsbox``); here a grant names the type
itself (``jsbox``), and module paths are still accepted as input so old operator habits work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import Account, AppPermission
from vumigo.errors import InvalidInput, NotFound, PermissionDenied

AppKind = Literal["conversation", "router"]


@dataclass(frozen=True, slots=True)
class AppType:
    name: str
    display_name: str
    kind: AppKind
    module: str  # the original's module path, e.g. go.apps.surveys for "survey"


def _conversation(name: str, display_name: str, module: str | None = None) -> AppType:
    return AppType(name, display_name, "conversation", f"go.apps.{module or name}")


def _router(name: str, display_name: str) -> AppType:
    return AppType(name, display_name, "router", f"go.routers.{name}")


_ALL = (
    _conversation("bulk_message", "Group Message"),
    _conversation("dialogue", "Dialogue"),
    _conversation("multi_survey", "Old Multi Surveys", "multi_surveys"),
    _conversation("survey", "Old Surveys", "surveys"),
    _conversation("opt_out", "Opt Out Handler"),
    _conversation("sequential_send", "Sequential Send"),
    _conversation("subscription", "Subscription Manager"),
    _conversation("wikipedia", "Wikipedia"),
    _conversation("jsbox", "Javascript App"),
    _conversation("http_api", "HTTP API"),
    _conversation("http_api_nostream", "HTTP API (No Streaming)"),
    _conversation("rapidsms", "Rapid SMS"),
    _conversation("static_reply", "Static Reply"),
    _router("keyword", "Keyword"),
    _router("group", "Group"),
    _router("app_multiplexer", "Application Multiplexer"),
)

APP_TYPES: dict[str, AppType] = {app.name: app for app in _ALL}
CONVERSATION_TYPES: dict[str, AppType] = {
    name: app for name, app in APP_TYPES.items() if app.kind == "conversation"
}
ROUTER_TYPES: dict[str, AppType] = {
    name: app for name, app in APP_TYPES.items() if app.kind == "router"
}
_BY_MODULE = {app.module: app for app in _ALL}


def app_type(name: str, kind: AppKind | None = None) -> AppType:
    """The type called ``name`` (or by its original module path); InvalidInput naming the known."""
    found = APP_TYPES.get(name) or _BY_MODULE.get(name)
    if found is None or (kind is not None and found.kind != kind):
        known = sorted(app.name for app in _ALL if kind is None or app.kind == kind)
        what = f"{kind} type" if kind else "app type"
        raise InvalidInput(f"unknown {what} {name!r}; known: {', '.join(known)}")
    return found


async def _require_account(session: AsyncSession, account_key: str) -> None:
    if await session.get(Account, account_key) is None:
        raise NotFound(f"unknown account {account_key!r}")


async def allowed_types(session: AsyncSession, account_key: str) -> frozenset[str]:
    """The conversation and router types the account may create."""
    rows = await session.execute(
        select(AppPermission.app_type).where(AppPermission.account_key == account_key)
    )
    return frozenset(rows.scalars())


async def enable_app(session: AsyncSession, account_key: str, name: str) -> bool:
    """Lets the account create ``name``; True if that is new, False if it was already allowed."""
    app = app_type(name)
    await _require_account(session, account_key)
    if app.name in await allowed_types(session, account_key):
        return False
    session.add(AppPermission(account_key=account_key, app_type=app.name))
    await session.flush()
    return True


async def enable_apps(
    session: AsyncSession, account_key: str, names: Iterable[str] | None = None
) -> list[str]:
    """Enables several types (all known ones by default); returns those newly enabled."""
    wanted = [app_type(name).name for name in (APP_TYPES if names is None else names)]
    return [name for name in wanted if await enable_app(session, account_key, name)]


async def disable_app(session: AsyncSession, account_key: str, name: str) -> bool:
    """Stops the account creating ``name``; True if it had been allowed.

    Existing conversations of that type are left alone, as in the original.
    """
    app = app_type(name)
    await _require_account(session, account_key)
    result = await session.execute(
        delete(AppPermission).where(
            AppPermission.account_key == account_key, AppPermission.app_type == app.name
        )
    )
    return cast(CursorResult[Any], result).rowcount > 0


async def require_allowed(
    session: AsyncSession, account_key: str, name: str, kind: AppKind
) -> AppType:
    """The type, if it exists and the account may create it; InvalidInput / PermissionDenied."""
    app = app_type(name, kind)
    if app.name not in await allowed_types(session, account_key):
        raise PermissionDenied(f"account {account_key} may not create {kind}s of type {app.name}")
    return app
