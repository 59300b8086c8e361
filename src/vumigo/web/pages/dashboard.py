"""The dashboard: the account's conversations with their status and message counts, and
notices of low credit and channels that are down."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from vumigo.accounts.apps import APP_TYPES
from vumigo.channels.acquisition import account_tags
from vumigo.conversations.routers import list_routers
from vumigo.conversations.service import list_conversations
from vumigo.web import forms
from vumigo.web.context import Page
from vumigo.web.notices import account_notices
from vumigo.web.stats import figures
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

PER_PAGE = 12


@router.get("/")
async def dashboard(web: Page, p: str | None = None) -> Response:
    account = web.account_key
    async with web.db.sessions() as session:
        conversations = await list_conversations(session, account)
        page = forms.paginate(conversations, forms.positive_int(p), PER_PAGE)
        rows = [
            (conv, await figures(session, "conversation", conv.key, account)) for conv in page.items
        ]
        channels = len(await account_tags(session, account))
        routers = len(await list_routers(session, account))
        notices = await account_notices(session, web.platform, account)
    running = sum(1 for conv in conversations if conv.status == "running")
    return await web.page(
        "dashboard.html",
        nav="dashboard",
        rows=rows,
        page=page,
        types=APP_TYPES,
        alerts=notices,
        totals={
            "conversations": len(conversations),
            "running": running,
            "channels": channels,
            "routers": routers,
            "inbound": sum(f.inbound for _, f in rows),
            "outbound": sum(f.outbound for _, f in rows),
        },
    )
