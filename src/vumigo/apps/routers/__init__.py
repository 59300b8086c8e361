"""Router types: one module each, listed here by type name (as apps are in apps.registry)."""

from __future__ import annotations

import importlib

from vumigo.apps.routers.base import RouterApp, RouterContext

# "module:class" for every implemented router type.
ROUTER_CLASSES: tuple[str, ...] = (
    "vumigo.apps.routers.keyword:KeywordRouter",
    "vumigo.apps.routers.group:GroupRouter",
    "vumigo.apps.routers.app_multiplexer:AppMultiplexer",
)


def router_classes() -> dict[str, type[RouterApp]]:
    found: dict[str, type[RouterApp]] = {}
    for path in ROUTER_CLASSES:
        module_name, _, attr = path.partition(":")
        cls: type[RouterApp] = getattr(importlib.import_module(module_name), attr)
        found[cls.router_type] = cls
    return found


__all__ = ["ROUTER_CLASSES", "RouterApp", "RouterContext", "router_classes"]
