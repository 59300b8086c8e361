"""Hostile input from schemathesis, driven by ``/openapi.json``: always a 4xx with a JSON reason,
never a 5xx, and every answer as the document describes it.

Each PUT operation is fuzzed with valid credentials for a real conversation of its type (so
bodies reach the validation and storage code), and without them; valid and invalid data both.
The streaming GETs are only fuzzed without credentials: with them they never end.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.factories import make_account
from tests.support.http_api import make_http_api_conversation, use_test_env
from tests.support.live import LiveServer, live_server
from vumigo.config import Settings
from vumigo.db.engine import Database

# Bounded, so the suite stays quick; VUMIGO_FUZZ_EXAMPLES=2000 digs deeper.
PREFIX = "/api/v1/go/http_api"
EXAMPLES = int(os.environ.get("VUMIGO_FUZZ_EXAMPLES", "150"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
async def credentials(sqlite_db: Database) -> dict[str, dict[str, str]]:
    """Per conversation type: the conversation key and a valid Authorization header."""
    account, _ = await make_account(sqlite_db)
    found: dict[str, dict[str, str]] = {}
    for conversation_type in ("http_api", "http_api_nostream"):
        conv, token = await make_http_api_conversation(
            sqlite_db, account, conversation_type, content_length_limit=50
        )
        found[conversation_type] = {"key": conv, "authorization": basic(account, token)}
    return found


@pytest.fixture
def live(
    settings: Settings, credentials: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    use_test_env(monkeypatch, VUMIGO_HTTP_API_MAX_BODY_BYTES="20000")
    with live_server(settings) as server:
        yield server


def strategies(live: LiveServer, credentials: dict[str, dict[str, str]]) -> list[Any]:
    # Only our paths, so that what other parts of the document contain cannot change the
    # generated examples (schemathesis draws constants from the whole document).
    document = httpx.get(f"{live.url}/openapi.json").json()
    document["paths"] = {
        path: item for path, item in document["paths"].items() if path.startswith(PREFIX)
    }
    schema = schemathesis.openapi.from_dict(document)
    found: list[Any] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        conversation_type = operation.path.split("/")[4]
        mine = credentials[conversation_type]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            found.append(operation.as_strategy(mode))  # no credentials, random keys
            if operation.method.upper() == "PUT":
                found.append(
                    operation.as_strategy(
                        mode,
                        path_parameters={"conversation_key": mine["key"]},
                        headers={"Authorization": mine["authorization"]},
                    )
                )
    return found


def test_openapi_documents_the_http_api(live: LiveServer) -> None:
    document = httpx.get(f"{live.url}/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/api/v1/go/http_api/{conversation_key}/messages.json"]) == {"put", "get"}
    assert set(paths["/api/v1/go/http_api_nostream/{conversation_key}/messages.json"]) == {"put"}
    assert "/api/v1/go/http_api/{conversation_key}/events.json" in paths
    assert "/api/v1/go/http_api_nostream/{conversation_key}/metrics.json" in paths
    schemes = document["components"]["securitySchemes"]
    assert schemes["conversationBasic"] == {
        "type": "http",
        "scheme": "basic",
        "description": "User: the account key. Password: a token of the conversation.",
    }


def test_hostile_input_gets_json_4xx_never_5xx(
    live: LiveServer, credentials: dict[str, dict[str, str]]
) -> None:
    statuses: Counter[tuple[int, str, str]] = Counter()

    @given(case=st.one_of(strategies(live, credentials)))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        response = case.call(base_url=live.url, timeout=10)
        case.validate_response(response, checks=CHECKS)
        statuses[(response.status_code, case.operation.method.upper(), case.operation.path)] += 1
        if response.status_code >= 400:
            (content_type,) = response.headers["content-type"]  # schemathesis lists values
            assert content_type.startswith("application/json")
            body = response.json()
            assert body["success"] is False and isinstance(body["reason"], str)

    fuzz()
    # The fuzzing reached past authentication and validation, not only the front door.
    assert {200, 400, 401} <= {status for status, _, _ in statuses}, statuses
