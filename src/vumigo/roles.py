"""The roles a process of the platform can run, and which parts of the app side each one runs.

Engine roles (any set of them may share a process; ``vumigo serve`` runs the first three):

- ``dispatcher``: routing, opt-outs, billing and storage of every message and event.
- ``apps``: the conversation workers and routers; and, unless ``dedicated_roles`` moves them
  out, the jsbox sandboxes, the scheduler and the HTTP API's push outbox too.
- ``transports``: the channels' connections (SMPP binds, XMPP logins, USSD session sweeps).
- ``sandbox``: the jsbox conversation type's workers, with their warm node processes.
- ``scheduler``: due scheduled tasks (bulk sends, sequential sends, jsbox push triggers,
  conversation actions), the action apps' timers and the expiry of app sessions.
- ``push``: delivery of the HTTP API's push outbox to the accounts' push URLs.

``web`` (the ASGI app) is not an engine role: a web process runs none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: The default of ``vumigo serve`` (and of ``Settings.roles``).
EMBEDDED_ROLES = ("dispatcher", "apps", "transports")
#: Parts of ``apps`` that can also run in processes of their own.
SPLITTABLE = ("sandbox", "scheduler", "push")
ENGINE_ROLES = (*EMBEDDED_ROLES, *SPLITTABLE)
ROLES = ("web", *ENGINE_ROLES)

#: The conversation type whose workers the ``sandbox`` role runs.
SANDBOX_APP_TYPE = "jsbox"


@dataclass(frozen=True)
class AppParts:
    """Which parts of the app side an engine runs."""

    conversations: bool = False  # every conversation type's workers but jsbox's, and routers
    sandbox: bool = False  # the jsbox workers
    scheduler: bool = False
    push: bool = False

    @property
    def any(self) -> bool:
        return self.conversations or self.sandbox or self.scheduler or self.push

    def consumes(self, app_type: str) -> bool:
        """Whether this engine takes ``app_type``'s inbound messages and events."""
        return self.sandbox if app_type == SANDBOX_APP_TYPE else self.conversations


def check_roles(roles: Iterable[str]) -> None:
    unknown = sorted(set(roles) - set(ENGINE_ROLES))
    if unknown:
        raise ValueError(
            f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ENGINE_ROLES)}"
        )


def app_parts(roles: Iterable[str], dedicated: Iterable[str] = ()) -> AppParts:
    """The app parts for ``roles``: a split role's part runs where it is named, and in ``apps``
    processes unless it is ``dedicated`` (then only its own processes run it)."""
    named, only_own = set(roles), set(dedicated)
    apps = "apps" in named

    def part(name: str) -> bool:
        return name in named or (apps and name not in only_own)

    return AppParts(
        conversations=apps, sandbox=part("sandbox"), scheduler=part("scheduler"), push=part("push")
    )
