"""The getting-started guide's three scripts (docs/examples/getting-started/), run with bash
against a running platform with the demo account, as a reader runs them after ``make run``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.docs.conftest import EXAMPLES, DocsPlatform
from tests.sandbox.helpers import NODE_READY

GUIDE = EXAMPLES / "getting-started"


def _replies(output: str) -> list[dict[str, Any]]:
    """The JSON answers a script printed (the lines the commands print are left out)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.skipif(not NODE_READY, reason="node and node_modules/vumigo_v02 are needed")
def test_first_javascript_app(docs_platform: DocsPlatform) -> None:
    done = docs_platform.bridge.script(GUIDE / "first-js-app.sh", docs_platform.env)
    first, second = _replies(done.stdout)
    texts = [answer["replies"][0]["content"] for answer in (first, second)]
    # The counter lives in the account's key-value store, so it only grows.
    numbers = [
        int(text.removeprefix("Hello! You are visitor number ").rstrip(".")) for text in texts
    ]
    assert numbers[1] == numbers[0] + 1, texts
    assert first["replies"][0]["to_addr"] == "+27820000001"


def test_first_http_api_integration(docs_platform: DocsPlatform) -> None:
    done = docs_platform.bridge.script(GUIDE / "first-http-api.sh", docs_platform.env)
    (sent,) = _replies(done.stdout)
    assert (sent["to_addr"], sent["content"]) == ("+27820000003", "Hello from my system")
    assert sent["message_type"] == "user_message" and len(sent["message_id"]) == 32


def test_first_group_message(docs_platform: DocsPlatform) -> None:
    p = docs_platform
    done = p.bridge.script(GUIDE / "first-group-message.sh", p.env)
    (page,) = _replies(done.stdout)
    assert page["messages"], "the script's long-poll saw nothing sent"
    channel = page["messages"][0]["from_addr"]
    # Gather the rest of the send: one message to each of the group's three contacts.
    seen = {m["to_addr"]: m["content"] for m in page["messages"]}
    cursor = page["cursor"]
    deadline = time.monotonic() + 20
    while len(seen) < 3 and time.monotonic() < deadline:
        more = httpx.get(
            f"{p.url}/api/v1/dev/dev/{channel}/outbound",
            params={"after": cursor, "wait": 5},
            headers={"Authorization": f"Bearer {p.token}"},
            timeout=15,
        ).json()
        seen.update({m["to_addr"]: m["content"] for m in more["messages"]})
        cursor = more["cursor"]
    assert seen == {
        "+27820000011": "Hello from Vumi Go",
        "+27820000012": "Hello from Vumi Go",
        "+27820000013": "Hello from Vumi Go",
    }
