"""The JSON-RPC account API, driven by go-http's AccountApiClient (unmodified) on a live server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from go_http.account import AccountApiClient
from go_http.exceptions import JsonRpcException

from tests.support.factories import make_account
from tests.support.live import live_server
from vumigo.channels.acquisition import acquire_tag
from vumigo.channels.tagpools import assign_pool, create_pool
from vumigo.config import Settings
from vumigo.conversations.routers import create_router
from vumigo.conversations.service import create_conversation
from vumigo.db.engine import Database
from vumigo.routing.table import add_entry, load_table

API = "/api/v1/go"


async def _setup(db: Database) -> dict[str, Any]:
    """An account with a channel, a jsbox conversation and a keyword router, routed through
    the router as go's own tests did."""
    account, token = await make_account(db)
    async with db.transaction() as s:
        from vumigo.accounts.apps import enable_apps

        await enable_apps(s, account)
        await create_pool(s, "pool", ["tag1", "tag2"], {"transport_name": "sms"})
        await assign_pool(s, account, "pool", None)
        await acquire_tag(s, account, "pool")
        conv = await create_conversation(
            s, account, "jsbox", "My Conversation", description="A description"
        )
        router = await create_router(
            s, account, "keyword", "My Router", description="A description",
            extra_outbound_endpoints=["bar"],
        )  # fmt: skip
        conv_conn = f"CONVERSATION:jsbox:{conv.key}"
        r_in, r_out = (
            f"ROUTER:keyword:{router.key}:INBOUND",
            f"ROUTER:keyword:{router.key}:OUTBOUND",
        )
        await add_entry(s, account, "TRANSPORT_TAG:pool:tag1", "default", r_in, "default")
        await add_entry(s, account, r_out, "default", conv_conn, "default")
        await add_entry(s, account, conv_conn, "default", r_out, "default")
        await add_entry(s, account, r_in, "default", "TRANSPORT_TAG:pool:tag1", "default")
    return {"account": account, "token": token, "conv": conv.key, "router": router.key}


def _faults(call: Any) -> tuple[int, str]:
    with pytest.raises(JsonRpcException) as caught:
        call()
    return caught.value.fault_code, caught.value.fault_string


async def test_go_http_reads_everything(sqlite_db: Database, settings: Settings) -> None:
    s = await _setup(sqlite_db)
    account, conv, router = s["account"], s["conv"], s["router"]
    with live_server(settings) as server:
        client = AccountApiClient(s["token"], api_url=server.url + API)
        assert client.campaigns() == [{"key": account, "name": "Your Campaign"}]
        assert client.conversations(account) == [
            {
                "uuid": conv,
                "type": "jsbox",
                "name": "My Conversation",
                "status": "stopped",
                "description": "A description",
                "endpoints": [{"uuid": f"CONVERSATION:jsbox:{conv}::default", "name": "default"}],
            }
        ]
        assert client.channels(account) == [
            {
                "uuid": "pool:tag1",
                "tag": ["pool", "tag1"],
                "name": "tag1",
                "description": "Pool: tag1",
                "endpoints": [{"uuid": "TRANSPORT_TAG:pool:tag1::default", "name": "default"}],
            }
        ]
        rtr = f"ROUTER:keyword:{router}"
        assert client.routers(account) == [
            {
                "uuid": router,
                "type": "keyword",
                "name": "My Router",
                "status": "stopped",
                "description": "A description",
                "channel_endpoints": [{"uuid": f"{rtr}:INBOUND::default", "name": "default"}],
                "conversation_endpoints": [
                    {"uuid": f"{rtr}:OUTBOUND::default", "name": "default"},
                    {"uuid": f"{rtr}:OUTBOUND::bar", "name": "bar"},
                ],
            }
        ]
        entries = sorted(client.routing_entries(account), key=lambda e: e["source"]["uuid"])
        assert entries == [
            {
                "source": {"uuid": f"CONVERSATION:jsbox:{conv}::default"},
                "target": {"uuid": f"{rtr}:OUTBOUND::default"},
            },
            {
                "source": {"uuid": f"{rtr}:INBOUND::default"},
                "target": {"uuid": "TRANSPORT_TAG:pool:tag1::default"},
            },
            {
                "source": {"uuid": f"{rtr}:OUTBOUND::default"},
                "target": {"uuid": f"CONVERSATION:jsbox:{conv}::default"},
            },
            {
                "source": {"uuid": "TRANSPORT_TAG:pool:tag1::default"},
                "target": {"uuid": f"{rtr}:INBOUND::default"},
            },
        ]
        table = client.routing_table(account)
        assert set(table) == {"channels", "routers", "conversations", "routing_entries"}
        assert table["channels"] == client.channels(account)
        assert len(table["routing_entries"]) == 4


def _routing(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "channels": [],
        "routers": [],
        "conversations": [],
        "routing_entries": [
            {"source": {"uuid": src}, "target": {"uuid": dst}} for src, dst in pairs
        ],
    }


async def test_go_http_updates_the_routing_table(sqlite_db: Database, settings: Settings) -> None:
    s = await _setup(sqlite_db)
    account, conv = s["account"], s["conv"]
    channel = "TRANSPORT_TAG:pool:tag1::default"
    conv_ep = f"CONVERSATION:jsbox:{conv}::default"
    with live_server(settings) as server:
        client = AccountApiClient(s["token"], api_url=server.url + API)
        assert (
            client.update_routing_table(account, _routing((channel, conv_ep), (conv_ep, channel)))
            is None
        )
        async with sqlite_db.sessions() as session:
            assert await load_table(session, account) == {
                "TRANSPORT_TAG:pool:tag1": {"default": [f"CONVERSATION:jsbox:{conv}", "default"]},
                f"CONVERSATION:jsbox:{conv}": {"default": ["TRANSPORT_TAG:pool:tag1", "default"]},
            }
        # The original's validation and messages.
        assert _faults(
            lambda: client.update_routing_table(account, _routing(("foo::bar", channel)))
        ) == (
            400,
            "Unknown source endpoint {'uuid': 'foo::bar'}",
        )
        assert _faults(
            lambda: client.update_routing_table(account, _routing((channel, "bar::baz")))
        ) == (
            400,
            "Source outbound-receiving endpoint {'uuid': 'TRANSPORT_TAG:pool:tag1::default'} "
            "should link to an inbound-receiving endpoint but links to {'uuid': 'bar::baz'}",
        )
        code, text = _faults(
            lambda: client.update_routing_table(account, _routing((conv_ep, conv_ep)))
        )
        assert code == 400 and text.startswith("Source inbound-receiving endpoint")
        # A bad update changed nothing.
        assert len(client.routing_entries(account)) == 2
        code, text = _faults(lambda: client.update_routing_table(account, {"routing_entries": []}))
        assert code == 8002 and "channels" in text
        assert client.update_routing_table(account, _routing()) is None
        assert client.routing_entries(account) == []


async def test_errors_and_isolation(sqlite_db: Database, settings: Settings) -> None:
    s = await _setup(sqlite_db)
    other, other_token = await make_account(sqlite_db)
    with live_server(settings) as server:
        mine = AccountApiClient(s["token"], api_url=server.url + API)
        theirs = AccountApiClient(other_token, api_url=server.url + API)
        assert theirs.campaigns() == [{"key": other, "name": "Your Campaign"}]
        assert theirs.conversations(other) == []
        for call in (
            lambda: theirs.conversations(s["account"]),
            lambda: theirs.routing_table(s["account"]),
            lambda: theirs.update_routing_table(s["account"], _routing()),
        ):
            code, text = _faults(call)
            assert code == 8002 and "Unknown campaign" in text
        code, _ = _faults(lambda: mine._api_request("conversations", []))
        assert code == 8002
        code, _ = _faults(lambda: mine._api_request("drop_tables", []))
        assert code == -32601
        code, _ = _faults(lambda: mine._api_request("conversations", [42]))
        assert code == 8002
        url = server.url + API + "/api/"
        nobody = httpx.post(url, json={"method": "campaigns", "params": [], "id": 1})
        assert nobody.status_code == 401
        forged = httpx.post(
            url,
            json={"method": "campaigns", "params": [], "id": 1},
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert forged.status_code == 401
        junk = httpx.post(
            url, content=b"{not json", headers={"Authorization": f"Bearer {s['token']}"}
        )
        assert junk.status_code == 200 and junk.json()["error"]["faultCode"] == -32700
        ok = httpx.post(
            url,
            json={"method": "campaigns", "params": [], "jsonrpc": "2.0", "id": 7},
            headers={"Authorization": f"Bearer {s['token']}"},
        ).json()
        assert ok["error"] is None and ok["id"] == 7 and ok["jsonrpc"] == "2.0"
