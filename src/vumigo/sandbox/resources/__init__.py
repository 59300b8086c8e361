"""Sandbox resources: what an app reaches with ``api.request('<resource>.<command>', {...})``.

A resource is a long-lived object shared by all accounts; everything about the current account,
conversation and message arrives in the :class:`~vumigo.sandbox.run.Run` passed to each command.
Commands are ``async`` methods marked with :func:`command`, whose metadata (request fields, reply
fields, failure reasons) is what :meth:`ResourceRegistry.describe` returns for documentation.
The reference pages of the docs are generated from that metadata, the resource modules'
docstrings and each resource's ``limits``, so a change here shows in the docs at once.

A command returns the reply's fields (``success: true`` is added), raises :class:`ResourceError`
for a ``{"success": false, "reason": ...}`` reply, or returns ``None`` for no reply at all. Any
other exception also becomes a failure reply carrying its text, as in the original.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from vumigo.sandbox.run import Run

Request = dict[str, Any]
Reply = dict[str, Any]
Handler = Callable[[Any, Request, Run], Awaitable[Reply | None]]
H = TypeVar("H", bound=Handler)

#: Names the host handles itself; no resource may take them.
RESERVED_NAMES = frozenset({"js", "sandbox"})


class ResourceError(Exception):
    """An expected failure: the reply is ``{"success": false, "reason": <text>}``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownCommand(Exception):
    """The app asked for a resource or command that does not exist: the run is killed."""


@dataclass(frozen=True)
class CommandDoc:
    name: str
    summary: str
    request: Mapping[str, str]
    reply: Mapping[str, str]
    errors: tuple[str, ...]


@dataclass(frozen=True)
class ResourceDoc:
    name: str
    summary: str
    commands: tuple[CommandDoc, ...]
    #: The resource module's docstring: what an app developer needs beyond the commands.
    details: str = ""
    #: Limit name -> what it is, with its default and the setting that changes it.
    limits: Mapping[str, str] = field(default_factory=dict)


def command(
    summary: str,
    *,
    name: str | None = None,
    request: Mapping[str, str] | None = None,
    reply: Mapping[str, str] | None = None,
    errors: tuple[str, ...] = (),
) -> Callable[[H], H]:
    """Mark an ``async def handler(self, request, run)`` as the command ``name`` (default: the
    method's name). ``request`` and ``reply`` map field names to descriptions; ``success`` is
    implied in every reply. ``errors`` lists the failure reasons it can give."""

    def mark(func: H) -> H:
        doc = CommandDoc(
            name=name or func.__name__,
            summary=summary,
            request=dict(request or {}),
            reply=dict(reply or {}),
            errors=errors,
        )
        func.__dict__["_sandbox_command"] = doc
        return func

    return mark


class Resource:
    """Base class of resources. Subclasses set ``name`` and mark commands with :func:`command`."""

    name: ClassVar[str] = ""
    #: Limits an app meets with this resource, for the documentation (see :class:`ResourceDoc`).
    limits: ClassVar[Mapping[str, str]] = {}
    _commands: ClassVar[dict[str, tuple[str, CommandDoc]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        commands: dict[str, tuple[str, CommandDoc]] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                doc = getattr(value, "_sandbox_command", None)
                if isinstance(doc, CommandDoc):
                    commands[doc.name] = (attr, doc)
        cls._commands = commands

    def has_command(self, method: str) -> bool:
        return method in self._commands

    async def handle(self, method: str, request: Request, run: Run) -> Reply | None:
        entry = self._commands.get(method)
        if entry is None:
            raise UnknownCommand(method)
        handler = getattr(self, entry[0])
        result: Reply | None = await handler(request, run)
        return result

    @classmethod
    def describe(cls) -> ResourceDoc:
        summary = inspect.cleandoc(cls.__doc__ or "")
        # The module of the class that named the resource documents it; a subclass elsewhere
        # (the engine's outbound resource) changes how it works, not what apps see.
        owner = next((k for k in cls.__mro__ if "name" in vars(k)), cls)
        module = sys.modules.get(owner.__module__)
        details = inspect.cleandoc(module.__doc__ or "") if module else ""
        commands = tuple(doc for _, doc in cls._commands.values())
        return ResourceDoc(cls.name, summary, commands, details, dict(cls.limits))

    async def aclose(self) -> None:
        """Release connections and the like; the default has nothing to release."""


class ResourceRegistry:
    """The resources sandboxes of one manager can use, by name."""

    def __init__(self, resources: list[Resource] | None = None) -> None:
        self._resources: dict[str, Resource] = {}
        for resource in resources or []:
            self.register(resource)

    def register(self, resource: Resource) -> None:
        if not resource.name or resource.name in RESERVED_NAMES:
            raise ValueError(f"invalid resource name {resource.name!r}")
        if "." in resource.name:
            raise ValueError("resource names cannot contain '.'")
        self._resources[resource.name] = resource

    def get(self, name: str) -> Resource | None:
        return self._resources.get(name)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self._resources.values())

    def names(self) -> list[str]:
        return sorted(self._resources)

    def describe(self) -> list[ResourceDoc]:
        return [self._resources[name].describe() for name in self.names()]

    async def aclose(self) -> None:
        for resource in self._resources.values():
            await resource.aclose()


# Small field checks shared by resources; each raises ResourceError with the given reason.


def string_field(request: Request, field: str, reason: str) -> str:
    value = request.get(field)
    if not isinstance(value, str):
        raise ResourceError(reason)
    return value


def optional_int(request: Request, field: str, reason: str, default: int | None) -> int | None:
    value = request.get(field, default)
    if value is None:
        return None
    # JSON numbers like 3.0 come through as floats; bools are ints in Python but not to apps.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResourceError(reason)
    if not math.isfinite(value) or value != int(value):
        raise ResourceError(reason)
    return int(value)
