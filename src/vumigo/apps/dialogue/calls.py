"""``httpjson`` states: tell an outside system about a contact's answers, and carry on.

The call is made while the message is handled, before anything is stored, so it may be repeated
if the message is handled again; what it returns is not used. Like the sandbox's ``http``
resource, it may only reach public addresses unless the operator allows more
(``VUMIGO_APPS_HTTP_ALLOW``: comma-separated CIDRs and host names), since the URL is the
account's to choose. A failed call is logged and the dialogue goes on.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx

from vumigo.apps.dialogue.poll import State
from vumigo.sandbox.netguard import AddressPolicy, GuardedBackend, GuardedTransport

log = logging.getLogger(__name__)

TIMEOUT = 5.0


def client() -> httpx.AsyncClient:
    allow = os.environ.get("VUMIGO_APPS_HTTP_ALLOW", "").split(",")
    backend = GuardedBackend(AddressPolicy.from_allow_list(allow))
    return httpx.AsyncClient(transport=GuardedTransport(backend), timeout=TIMEOUT)


async def call(state: State, body: dict[str, Any]) -> bool:
    """Makes one httpjson state's request; True if it got a 2xx answer."""
    assert state.url is not None
    try:
        async with client() as http:
            if state.method == "GET":
                flat = {k: v for k, v in body.items() if isinstance(v, str)}
                flat.update(body.get("answers") or {})
                response = await http.get(state.url, params=flat)
            else:
                response = await http.request(state.method, state.url, json=body)
    except Exception as exc:  # any failure of an outside system must not stop the dialogue
        log.warning("dialogue httpjson %s %s failed: %s", state.method, state.url, exc)
        return False
    if not response.is_success:
        log.warning(
            "dialogue httpjson %s %s: HTTP %s", state.method, state.url, response.status_code
        )
    return response.is_success
