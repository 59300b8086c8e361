"""The contacts, opt-outs, metrics and JSON-RPC examples (docs/examples/apis/ with curl,
docs/examples/go-http/ with go-http 0.3.2) against a running platform."""

from __future__ import annotations

import json
from typing import Any

from tests.docs.conftest import EXAMPLES, DocsPlatform
from tests.docs.examples import run_python

CURL = EXAMPLES / "apis"
GO_HTTP = EXAMPLES / "go-http"


def _json_lines(output: str) -> list[Any]:
    return [json.loads(line) for line in output.splitlines() if line.startswith(("{", "["))]


def test_contacts_with_curl(docs_platform: DocsPlatform) -> None:
    done = docs_platform.bridge.script(CURL / "contacts.sh", docs_platform.env)
    found, updated, members = _json_lines(done.stdout)
    (lerato,) = found["data"]
    assert (lerato["name"], lerato["msisdn"], lerato["extra"]) == (
        "Lerato",
        "+27820000031",
        {"city": "Polokwane"},
    )
    assert (updated["key"], updated["surname"], updated["name"]) == (
        lerato["key"],
        "Dlamini",
        "Lerato",
    )
    assert [c["key"] for c in members["data"]] == [lerato["key"]]
    assert members["cursor"] is None


def test_optouts_with_curl(docs_platform: DocsPlatform) -> None:
    done = docs_platform.bridge.script(CURL / "optouts.sh", docs_platform.env)
    lines = done.stdout.splitlines()
    made, got, count, deleted = (json.loads(line) for line in lines[:4])
    assert made["status"] == {"code": 200, "reason": "OK"}
    assert got["opt_out"] == made["opt_out"] == deleted["opt_out"]
    assert count["opt_out_count"] >= 1
    assert lines[4].endswith(" HTTP 404")
    assert json.loads(lines[4].removesuffix(" HTTP 404"))["status"]["code"] == 404


def test_metrics_with_curl(docs_platform: DocsPlatform) -> None:
    done = docs_platform.bridge.script(CURL / "metrics.sh", docs_platform.env)
    fired, read = _json_lines(done.stdout)
    assert fired == [{"name": "stores.default.signups.sum", "value": 3.0, "aggregator": "sum"}]
    assert [point["y"] for point in read["stores.default.signups.sum"]] == [3.0]


def test_json_rpc_with_curl(docs_platform: DocsPlatform) -> None:
    p = docs_platform
    done = p.bridge.script(CURL / "json-rpc.sh", p.env)
    campaigns, table = _json_lines(done.stdout)
    assert campaigns["result"] == [{"key": p.account, "name": "Your Campaign"}]
    assert campaigns["error"] is None and table["error"] is None
    assert set(table["result"]) == {"channels", "routers", "conversations", "routing_entries"}


def test_go_http_clients(docs_platform: DocsPlatform) -> None:
    env = docs_platform.env
    extra, members, total = run_python(GO_HTTP / "contacts.py", env).splitlines()
    assert extra == "{'language': 'af'}"
    assert members == "['Pieter']"
    assert total.endswith(" contacts in the account") and int(total.split()[0]) >= 1

    opted_out, count, after = run_python(GO_HTTP / "optouts.py", env).splitlines()
    assert (opted_out, after) == ("opted out: True", "after delete: None")
    assert int(count.removeprefix("count: ")) >= 1

    fired, values = run_python(GO_HTTP / "metrics_api.py", env).splitlines()
    assert fired == "[{'name': 'stores.default.downloads.sum', 'value': 7.0, 'aggregator': 'sum'}]"
    assert values == "[7.0]"

    printed = run_python(GO_HTTP / "account.py", env).splitlines()
    assert printed[-1].endswith(" conversations")
    assert all(" -> " in line for line in printed[:-1])
