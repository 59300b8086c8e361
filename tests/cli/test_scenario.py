"""The operator's path from nothing to a routed, running conversation, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Vumigo


def test_user_pool_channel_conversation_and_routes(vumigo_any: Vumigo) -> None:
    run = vumigo_any
    account = run.ok("user", "create", "--email", "Ops@Example.org", "--password", "s3cret")
    assert len(account) == 32
    run.ok(
        "tagpool", "create", "longcode", "--tag-range", "default:10001-10003",
        "--meta", "transport_name=sms_transport", "--meta", "supports.replies=true",
    )  # fmt: skip
    run.ok("tagpool", "assign", "--account", account, "--pool", "longcode", "--max-keys", "2")
    channel = run.ok("channel", "acquire", "--account", account, "--pool", "longcode")
    assert channel == "longcode:default10001"
    run.ok("app", "enable", "--account", account, "--type", "go.apps.bulk_message")
    key = run.ok(
        "conversation", "create", "--account", account, "--type", "bulk_message", "--name", "News"
    )
    assert run.ok("conversation", "start", key) == f"started {key}"
    tag, conv = f"TRANSPORT_TAG:{channel}", f"CONVERSATION:bulk_message:{key}"
    run.ok("routing", "add", "--account", account, tag, "default", conv, "default")
    run.ok("routing", "add", "--account", account, conv, "default", tag, "default")

    shown = json.loads(run.ok("routing", "show", "--account", account, "--json"))
    assert shown == {tag: {"default": [conv, "default"]}, conv: {"default": [tag, "default"]}}
    assert json.loads(run.ok("--json", "routing", "show", "--account", account)) == shown
    text = run.ok("routing", "show", "--account", account)
    assert f"{tag} [default] -> {conv} [default]" in text.splitlines()

    conversation = json.loads(run.ok("conversation", "show", key, "--json"))
    assert (conversation["status"], conversation["account_key"]) == ("running", account)
    listed = json.loads(run.ok("--json", "account", "list", "--show-pools", "--show-tags"))
    assert listed[0]["emails"] == ["ops@example.org"]
    assert listed[0]["pools"] == [{"pool": "longcode", "max_keys": 2, "held": 1}]
    assert listed[0]["tags"] == [channel]


def test_routing_through_a_keyword_router(vumigo: Vumigo, tmp_path: Path) -> None:
    run = vumigo
    account = run.ok("user", "create", "--email", "r@example.org", "--password", "pw")
    run.ok("tagpool", "create", "ussd", "--tags", "*120*1#")
    run.ok("tagpool", "assign", "--account", account, "--pool", "ussd", "--max-keys", "0")
    channel = run.ok("channel", "acquire", "--account", account, "--pool", "ussd")
    for kind in ("keyword", "static_reply"):
        run.ok("app", "enable", "--account", account, "--type", kind)
    config = tmp_path / "router.json"
    config.write_text(json.dumps({"keyword_endpoint_mapping": {"help": "help"}}))
    router = run.ok(
        "router", "create", "--account", account, "--type", "keyword", "--name", "kw",
        "--config-file", str(config), "--outbound-endpoint", "help",
    )  # fmt: skip
    conv = run.ok(
        "conversation", "create", "--account", account, "--type", "static_reply", "--name", "s"
    )
    inbound, outbound = f"ROUTER:keyword:{router}:INBOUND", f"ROUTER:keyword:{router}:OUTBOUND"
    table = {
        f"TRANSPORT_TAG:{channel}": {"default": [inbound, "default"]},
        inbound: {"default": [f"TRANSPORT_TAG:{channel}", "default"]},
        outbound: {"help": [f"CONVERSATION:static_reply:{conv}", "default"]},
        f"CONVERSATION:static_reply:{conv}": {"default": [outbound, "help"]},
    }
    table_file = tmp_path / "table.json"
    table_file.write_text(json.dumps(table))
    run.ok("routing", "replace", "--account", account, "--file", str(table_file))
    assert json.loads(run.ok("routing", "show", "--account", account, "--json")) == table
    shown = json.loads(run.ok("router", "show", router, "--json"))
    assert shown["outbound_endpoints"] == ["default", "help"]
    assert shown["config"] == {"keyword_endpoint_mapping": {"help": "help"}}
    assert run.ok("router", "start", router) == f"started {router}"
    run.ok("router", "stop", router)
    assert "4 routing entries removed" in run.ok("router", "archive", router)
    assert json.loads(run.ok("routing", "show", "--account", account, "--json")) == {}
