"""/metrics on a live platform with traffic, read with prometheus-client's own parser."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from go_http.send import HttpApiSender
from prometheus_client.parser import text_string_to_metric_families

from tests.support.http_api import HttpApiSetup, http_api_setup
from tests.support.live import live_server
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.runtime import Platform
from vumigo.web.app import create_app

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def find(samples: Samples, name: str, **labels: str) -> list[float]:
    wanted = set(labels.items())
    return [v for (n, found), v in samples.items() if n == name and wanted <= set(found)]


async def test_metrics_exposition_parses_and_counts_traffic(
    sqlite_db: Database, settings: Settings
) -> None:
    setup: HttpApiSetup = await http_api_setup(sqlite_db, "http_api_nostream")
    with live_server(settings) as server:
        phone = httpx.post(
            setup.phone_url(server.url),
            json={"from_addr": "+27820000001", "content": "hi", "wait": 0},
            headers={"Authorization": f"Bearer {setup.account_token}"},
        )
        assert phone.status_code == 200, phone.text
        sender = HttpApiSender(
            setup.account,
            setup.conv,
            setup.token,
            api_url=f"{server.url}/api/v1/go/http_api_nostream",
        )
        sender.send_text("+27820000002", "hello")
        deadline = time.monotonic() + 10
        while True:
            samples = parse(httpx.get(f"{server.url}/metrics").text)
            outbound = find(samples, "vumigo_messages_total", direction="outbound", transport="dev")
            if outbound or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert find(samples, "vumigo_messages_total", direction="inbound", transport="dev") == [1.0]
    assert outbound == [1.0]
    assert find(samples, "vumigo_queue_depth", queue="dispatcher.inbound") == [0.0]
    assert find(samples, "vumigo_push_backlog", state="pending") == [0.0]
    timed = find(
        samples,
        "vumigo_http_request_duration_seconds_count",
        method="PUT",
        route="/api/v1/go/http_api_nostream/{conversation_key}/messages.json",
    )
    assert timed == [1.0], [k for k in samples if "http_request" in k[0]]
    assert find(samples, "vumigo_http_request_duration_seconds_count", route="unmatched") == []
    assert find(samples, "vumigo_sandbox_pools") == [0.0]


class TokenSettings(Settings):
    metrics_prometheus_token: str = "s3cret"


async def test_metrics_can_ask_for_a_token(tmp_path: Path, sqlite_url: str) -> None:
    platform = Platform(TokenSettings(data_dir=tmp_path / "var", database_url=sqlite_url))
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/metrics")).status_code == 401
        bad = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        good = await http.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 200 and "vumigo_queue_depth" in good.text
    await platform.db.dispose()
