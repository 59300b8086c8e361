"""The conversation types this platform runs: the one list of app modules."""

from __future__ import annotations

import importlib

from vumigo.apps.base import ConversationApp

# "module:class" for every implemented conversation type.
APP_CLASSES: tuple[str, ...] = (
    "vumigo.apps.static_reply:StaticReplyApp",
    "vumigo.apps.opt_out:OptOutApp",
    "vumigo.apps.http_api.apps:HttpApiNoStreamApp",
    "vumigo.apps.http_api.apps:HttpApiApp",
    "vumigo.apps.bulk_message:BulkMessageApp",
    "vumigo.apps.dialogue:DialogueApp",
    "vumigo.apps.sequential_send:SequentialSendApp",
    "vumigo.apps.subscription:SubscriptionApp",
    "vumigo.apps.jsbox:JsBoxApp",
)


def app_classes() -> dict[str, type[ConversationApp]]:
    found: dict[str, type[ConversationApp]] = {}
    for path in APP_CLASSES:
        module_name, _, attr = path.partition(":")
        cls: type[ConversationApp] = getattr(importlib.import_module(module_name), attr)
        found[cls.conversation_type] = cls
    return found
