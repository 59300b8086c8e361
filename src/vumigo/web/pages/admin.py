"""The operator pages (/admin/): the overview here, and the accounts, users and tag pools pages
from their own modules. Billing has its own operator page (/billing/admin/), linked from these.

Every route is an ``OperatorRoute`` (see ``admin_guard``): operators only, a 404 for anyone else.
The last route answers every other /admin/ address and method with the same 404 page, so an
address that exists for operators looks to anyone else like one that does not.
"""

from __future__ import annotations

from starlette.responses import Response

from vumigo.billing.notify import credits_text
from vumigo.errors import NotFound
from vumigo.web.pages import admin_accounts, admin_pools, admin_users
from vumigo.web.pages.admin_guard import NO_PAGE, Operator, operator_router
from vumigo.web.pages.admin_stats import overview

router = operator_router()


@router.get("/admin/")
async def home(web: Operator) -> Response:
    figures = await overview(web.platform)
    return await web.page(
        "admin/overview.html", nav="admin", tab="overview", o=figures, credits=credits_text
    )


for area in (admin_accounts, admin_users, admin_pools):
    router.include_router(area.router)

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/admin/{rest:path}", methods=ALL_METHODS)
async def no_page(web: Operator, rest: str) -> Response:
    raise NotFound(NO_PAGE)
