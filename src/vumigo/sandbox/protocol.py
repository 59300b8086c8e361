"""The host side of the sandbox line protocol: framing, the commands the host sends, and the
dispatch of the sandbox's requests to resources.

Framing (unchanged from the original Vumi sandbox):

- One JSON object per ``\\n``-terminated line in each direction. Host to sandbox is ASCII-only
  JSON (non-ASCII escaped as ``\\uXXXX``); sandbox to host is UTF-8.
- Every object has ``cmd``, ``cmd_id`` and ``reply``. A request has ``reply: false`` and its
  fields at top level; a reply echoes ``cmd`` and ``cmd_id`` with ``reply: true``, and always has
  ``success`` (plus ``reason`` when it is false).
- Host to sandbox: ``initialize``, ``inbound-message`` / ``inbound-event`` (``msg``), replies,
  ``exit``. Sandbox to host: ``<resource>.<command>`` requests, and ``js.done`` after the app's
  ``api.done()`` has logged "Done.". An unknown resource or command ends the run (the original
  killed the process; so do we).

Additions for warm reuse, which the app never sees:

- ``run_id`` on every line in both directions. The host numbers runs per process; the sandboxer
  drops host lines for any run but the current one, and tags what it sends with the run that sent
  it, so the host can ignore a finished run's stragglers.
- ``initialize`` carries ``code_hash``; ``javascript`` is only sent the first time a process sees
  that hash (the sandboxer caches the compiled script). ``app_context`` is a JSON object, never
  code: ``{"modules": [...]}`` narrows the start-up ``require`` whitelist for the run.
- Plain log lines (``log.debug`` ... ``log.critical`` with a ``msg``) are answered by the
  sandboxer itself, with the very reply the host would give (``success: true``, since the log
  resource cannot refuse them), and forwarded with ``answered: true``; the host stores them and
  sends no reply. Apps log several lines a message (the toolkit logs on every state change), so
  this halves a typical run's round trips without changing what the app sees.
- The sandboxer announces itself once with ``sandbox.ready`` (``run_id: null``) after loading
  the whitelisted modules, so a process is only handed a message once it is warm.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from vumigo.sandbox.resources import (
    Reply,
    Request,
    ResourceError,
    ResourceRegistry,
    UnknownCommand,
)
from vumigo.sandbox.run import Run

logger = logging.getLogger(__name__)

ENVELOPE = frozenset({"cmd", "cmd_id", "reply", "run_id", "answered"})
#: Commands the sandboxer answers itself when they carry a ``msg`` (see the module docstring).
ANSWERED_IN_SANDBOX = frozenset(
    {"log.debug", "log.info", "log.warning", "log.error", "log.critical"}
)
DONE_COMMAND = "js.done"
READY_COMMAND = "sandbox.ready"


class ProtocolError(Exception):
    """A line from the sandbox that is not a JSON command object."""


def encode(obj: dict[str, Any]) -> bytes:
    """One ASCII-only line. NaN and infinities are refused: they are not JSON, and
    JavaScript's ``JSON.parse`` would throw on them."""
    text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.encode("ascii") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"sandbox sent a line that is not JSON: {line[:200]!r}") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str):
        raise ProtocolError(f"sandbox sent a line that is not a command: {line[:200]!r}")
    return obj


def initialize_command(
    run_id: int, code_hash: str, javascript: str | None, modules: Sequence[str] | None = None
) -> dict[str, Any]:
    command: dict[str, Any] = {
        "cmd": "initialize",
        "cmd_id": f"init-{run_id}",
        "reply": False,
        "run_id": run_id,
        "code_hash": code_hash,
        "app_context": {"modules": list(modules)} if modules is not None else {},
    }
    if javascript is not None:
        command["javascript"] = javascript
    return command


def inbound_command(run_id: int, run: Run) -> dict[str, Any]:
    return {
        "cmd": run.command,
        "cmd_id": f"msg-{run_id}",
        "reply": False,
        "run_id": run_id,
        "msg": dict(run.message),
    }


def exit_command() -> dict[str, Any]:
    return {"cmd": "exit", "cmd_id": "exit", "reply": False, "run_id": None}


def failure(command: dict[str, Any], reason: str) -> dict[str, Any]:
    return {
        "cmd": command.get("cmd"),
        "cmd_id": command.get("cmd_id"),
        "reply": True,
        "run_id": command.get("run_id"),
        "success": False,
        "reason": reason,
    }


class ProtocolHandler:
    """Routes ``<resource>.<command>`` requests to resources and builds the replies."""

    def __init__(self, registry: ResourceRegistry) -> None:
        self.registry = registry

    def unknown(self, command: dict[str, Any], run: Run) -> str | None:
        """The log text ending the run if ``command`` names no resource command, else None.
        Checked before dispatching so the run ends at once, not when a reply would be due."""
        full_name: str = command["cmd"]
        resource_name, _, method = full_name.partition(".")
        resource = self.registry.get(resource_name)
        if resource is None or not method:
            return (
                f"Sandbox {run.account_key!r} requested unknown resource {resource_name!r} "
                f"(command {full_name!r}). Killing sandbox."
            )
        if not resource.has_command(method):
            return (
                f"Resource {resource_name} received unknown command {method!r} from sandbox "
                f"{run.account_key!r}. Killing sandbox."
            )
        return None

    async def dispatch(self, command: dict[str, Any], run: Run) -> dict[str, Any] | None:
        """The reply to send, or ``None`` for none. Raises :class:`UnknownCommand` (with the
        log text the run should record) when the run must be ended."""
        problem = self.unknown(command, run)
        if problem is not None:
            raise UnknownCommand(problem)
        full_name: str = command["cmd"]
        resource_name, _, method = full_name.partition(".")
        resource = self.registry.get(resource_name)
        assert resource is not None
        request: Request = {k: v for k, v in command.items() if k not in ENVELOPE}
        try:
            fields: Reply | None = await resource.handle(method, request, run)
        except ResourceError as exc:
            fields = {"success": False, "reason": exc.reason}
        except Exception as exc:
            logger.exception("sandbox resource %s failed", full_name)
            fields = {"success": False, "reason": str(exc) or type(exc).__name__}
        if fields is None:
            return None
        reply = {"success": True, **fields}
        reply.update(
            cmd=full_name, cmd_id=command.get("cmd_id"), reply=True, run_id=command.get("run_id")
        )
        return reply
