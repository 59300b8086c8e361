"""``app_multiplexer`` router: a USSD menu that hands the caller's session to the chosen app.

Config:

- ``menu_title.content``: the menu's first line (default "Please select a choice.");
- ``entries`` [{label, endpoint}]: the menu, shown as ``1) Label`` lines;
- ``invalid_input_message``: the answer to a choice that is not on the menu;
- ``error_message``: the answer (closing the session) when the chosen app is no longer on
  the menu;
- ``session_expiry``: seconds a caller's session lives without input (default 300).

A caller's session is a row in ``app_sessions`` (router key, caller address) in one of three
states: ``select`` (menu shown), ``bad_input`` (told the choice was wrong; anything shows the menu
again) and ``selected`` (an app was chosen). A valid choice goes to the app's endpoint as a new
session (no content, ``session_event`` new), and every later message of the session follows it.
A session start always shows the menu; a close ends the session, and is handed to the chosen
app; an app closing the session from its side ends it too.
"""

from __future__ import annotations

from typing import Any

from vumigo.apps import sessions
from vumigo.apps.routers.base import RouterApp, RouterContext
from vumigo.errors import InvalidInput
from vumigo.message import UserMessage
from vumigo.routing.connectors import validate_endpoint

DEFAULT_TITLE = "Please select a choice."
DEFAULT_INVALID_INPUT = "That is not one of the choices. Reply with anything to see them again."
DEFAULT_ERROR = "Sorry, that service is not available right now. Please try again later."
DEFAULT_EXPIRY = 300.0


def menu_text(config: dict[str, Any]) -> str:
    title = (config.get("menu_title") or {}).get("content") or DEFAULT_TITLE
    lines = [str(title)]
    for n, entry in enumerate(entries(config), start=1):
        lines.append(f"{n}) {entry['label']}")
    return "\n".join(lines)


def entries(config: dict[str, Any]) -> list[dict[str, str]]:
    found = config.get("entries") or []
    return [e for e in found if isinstance(e, dict) and e.get("endpoint")]


def expiry(config: dict[str, Any]) -> float:
    value = config.get("session_expiry", DEFAULT_EXPIRY)
    return float(value) if isinstance(value, int | float) and value > 0 else DEFAULT_EXPIRY


def chosen(config: dict[str, Any], content: str | None) -> dict[str, str] | None:
    text = (content or "").strip()
    menu = entries(config)
    if text.isdigit() and 1 <= int(text) <= len(menu):
        return menu[int(text) - 1]
    return None


class AppMultiplexer(RouterApp):
    router_type = "app_multiplexer"
    display_name = "Application Multiplexer"

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        menu = config.get("entries", [])
        if not isinstance(menu, list) or not menu:
            raise InvalidInput("entries must be a non-empty list of {label, endpoint}")
        for entry in menu:
            if not isinstance(entry, dict) or not str(entry.get("label") or "").strip():
                raise InvalidInput("each entry needs a label and an endpoint")
            validate_endpoint(entry.get("endpoint", ""))
        seconds = config.get("session_expiry", DEFAULT_EXPIRY)
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
            raise InvalidInput("session_expiry must be a positive number of seconds")
        title = config.get("menu_title", {})
        if not isinstance(title, dict):
            raise InvalidInput('menu_title must be an object such as {"content": "..."}')
        return config

    async def route_inbound(self, ctx: RouterContext, msg: UserMessage) -> None:
        config = ctx.config
        owner, address = ctx.router.key, msg.from_addr or ""
        state = await sessions.load(self.engine.db, owner, address)
        ttl = expiry(config)

        def keep(new_state: dict[str, Any]) -> None:
            ctx.extra_writes.append(sessions.save(owner, address, new_state, ttl))

        if msg.session_event == "close":
            ctx.extra_writes.append(sessions.clear(owner, address))
            if state is not None and state.get("state") == "selected":
                ctx.forward(msg, str(state["endpoint"]))
            return
        if msg.session_event == "new" or state is None or state.get("state") == "bad_input":
            ctx.reply_to(msg, menu_text(config))
            keep({"state": "select"})
            return
        if state.get("state") == "selected":
            endpoint = str(state.get("endpoint"))
            if endpoint not in {e["endpoint"] for e in entries(config)}:
                # The menu changed under the caller: the app they chose is gone.
                ctx.reply_to(msg, str(config.get("error_message") or DEFAULT_ERROR), False)
                ctx.extra_writes.append(sessions.clear(owner, address))
                return
            keep(state)
            ctx.forward(msg, endpoint)
            return
        entry = chosen(config, msg.content)
        if entry is None:
            invalid = str(config.get("invalid_input_message") or DEFAULT_INVALID_INPUT)
            ctx.reply_to(msg, invalid)
            keep({"state": "bad_input"})
            return
        # The app starts a session of its own: it sees a new session, not the menu choice.
        msg.payload["content"] = None
        msg.payload["session_event"] = "new"
        ctx.save_forwarded = True
        keep({"state": "selected", "endpoint": entry["endpoint"]})
        ctx.forward(msg, entry["endpoint"])

    async def route_outbound(self, ctx: RouterContext, msg: UserMessage) -> None:
        if msg.session_event == "close" and msg.to_addr:
            ctx.extra_writes.append(sessions.clear(ctx.router.key, msg.to_addr))
