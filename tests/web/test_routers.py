"""Router pages: create (started), show, edit with endpoints and JSON config, lifecycle, 404s."""

from __future__ import annotations

import re

from tests.web.helpers import Browser
from vumigo.db.models import Router


async def test_router_pages(browser: Browser, other: Browser) -> None:
    assert (await browser.get("/routers/")).status_code == 200
    form = await browser.get("/routers/new")
    assert 'value="keyword"' in form.text and 'value="static_reply"' not in form.text
    made = await browser.post("/routers/new", {"name": "Words", "router_type": "keyword"})
    assert made.status_code == 303
    found = re.match(r"/routers/([0-9a-f]{32})/$", made.headers["location"])
    assert found
    key = found.group(1)
    page = await browser.get(f"/routers/{key}/")
    assert page.status_code == 200 and "badge-running" in page.text
    assert f"ROUTER:keyword:{key}:INBOUND" in page.text
    saved = await browser.post(
        f"/routers/{key}/edit",
        {
            "name": "Words",
            "config": '{"keyword_endpoint_mapping": {"yes": "kw_yes"}}',
            "outbound_endpoints": "kw_yes",
            "inbound_endpoints": "",
        },
    )
    assert saved.status_code == 303
    async with browser.db.sessions() as session:
        rtr = await session.get(Router, key)
    assert rtr is not None and rtr.extra_outbound_endpoints == ["kw_yes"]
    assert rtr.config == {"keyword_endpoint_mapping": {"yes": "kw_yes"}}
    bad = await browser.post(f"/routers/{key}/edit", {"name": "Words", "config": "{"})
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    bad_endpoint = await browser.post(
        f"/routers/{key}/edit", {"name": "Words", "config": "{}", "outbound_endpoints": "a::b"}
    )
    assert bad_endpoint.status_code == 400
    assert (await browser.post(f"/routers/{key}/stop")).status_code == 303
    assert (await browser.post(f"/routers/{key}/archive")).status_code == 303
    listing = await browser.get("/routers/?status=archived")
    assert "Words" in listing.text
    for path in (f"/routers/{key}/",):
        assert (await other.get(path)).status_code == 404
    for action in ("start", "stop", "archive", "edit"):
        response = await other.post(f"/routers/{key}/{action}", {"name": "x", "config": "{}"})
        assert response.status_code == 404
    wrong = await browser.post("/routers/new", {"name": "x", "router_type": "static_reply"})
    assert wrong.status_code == 400
