"""Installs the web UI on the platform's app: its static files and every page's routes."""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI

from vumigo.runtime import Platform
from vumigo.web.assets import VendorFiles, find_node_modules, own_files

# One module per area of the UI, each with a ``router``.
PAGES = (
    "auth",
    "dashboard",
    "conversations",
    "messages",
    "routers",
    "channels",
    "routing",
    "account",
    "phone",
    "jsbox_ui",
    "http_api_ui",
    "bulk_ui",
    "sequential_ui",
    "dialogue_ui",
    "subscription_ui",
    "router_editors",
    "admin",
    "contacts",
    "contacts_people",
    "contacts_groups",
    "contacts_import",
)


def install(app: FastAPI, platform: Platform) -> None:
    # The vendor mount goes first: the /static mount would otherwise answer its paths.
    app.mount("/static/vendor", VendorFiles(find_node_modules()), name="vendor")
    app.mount("/static", own_files(), name="static")
    for name in PAGES:
        module = importlib.import_module(f"vumigo.web.pages.{name}")
        page_router: APIRouter = module.router
        app.include_router(page_router)
    from vumigo.billing.pages import router as billing_pages

    app.include_router(billing_pages)
