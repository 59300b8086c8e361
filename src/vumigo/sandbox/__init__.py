"""The JavaScript sandbox: runs Vumi Go apps (vumigo_v02 and older) in warm, isolated node
processes, one pool per account.

Typical use by the message engine::

    async with SandboxManager(settings, resources=build_registry(...)) as sandboxes:
        result = await sandboxes.run(account_key, javascript, app_config, msg, RunContext(...))

The engine implements :class:`OutboundSink`, :class:`MetricSink`, :class:`KeyValueStore` and
:class:`LogStore` (in-memory versions exist for tests and the embedded mode), and adds the
database-backed resources (contacts, groups, opt-outs, message store) as :class:`Resource`
subclasses via ``build_registry(extra=[...])``.

Modules: ``sandboxer.js`` (the node side), ``protocol`` (wire format and dispatch), ``process``
(one node process), ``pool`` (an account's processes), ``manager`` (all accounts), ``isolation``
and ``limits`` (what a process may do), ``netguard`` (where the http resource may connect) and
``resources`` (what apps can call).
"""

from vumigo.sandbox.isolation import IsolationReport, IsolationUnavailable
from vumigo.sandbox.limits import ResourceLimits, SandboxSettings
from vumigo.sandbox.manager import SandboxManager, build_registry
from vumigo.sandbox.pool import SandboxPool
from vumigo.sandbox.resources import (
    Resource,
    ResourceError,
    ResourceRegistry,
    command,
)
from vumigo.sandbox.resources.http import HttpResource, HttpSettings
from vumigo.sandbox.resources.kv import KeyQuotaExceeded, KeyValueStore
from vumigo.sandbox.resources.log import LogStore
from vumigo.sandbox.resources.metrics import MetricEvent, MetricSink
from vumigo.sandbox.resources.outbound import OutboundMessage, OutboundSink
from vumigo.sandbox.run import LogLine, Outcome, Run, RunContext, RunResult

__all__ = [
    "HttpResource",
    "HttpSettings",
    "IsolationReport",
    "IsolationUnavailable",
    "KeyQuotaExceeded",
    "KeyValueStore",
    "LogLine",
    "LogStore",
    "MetricEvent",
    "MetricSink",
    "OutboundMessage",
    "OutboundSink",
    "Outcome",
    "Resource",
    "ResourceError",
    "ResourceLimits",
    "ResourceRegistry",
    "Run",
    "RunContext",
    "RunResult",
    "SandboxManager",
    "SandboxPool",
    "SandboxSettings",
    "build_registry",
    "command",
]
