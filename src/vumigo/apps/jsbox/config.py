"""A jsbox conversation's config: where its code and app config live, read and changed.

As in Vumi Go, the conversation's config holds:

- ``jsbox``: ``{"javascript": <the app's source>, "source_url": <where it came from, or "">}``;
- ``jsbox_app_config``: ``{<key>: {"value": <string>, "source_url": <str>}}``, what the app
  reads with ``config.get``. Key ``config`` holds the app's JSON config as a string, e.g.
  ``{"name": "my_app", "endpoints": {"sms": {}}, "delivery_class": "sms",
  "process_events": true}``; keys ``translation.<lang>`` hold Jed translations.

From the app's JSON config the platform reads ``process_events`` (whether acks, nacks and
delivery reports are sent to the app; otherwise they are only counted), ``delivery_class``
(which contact address ``send_jsbox`` pushes to) and ``endpoints`` (names the app may send to
with ``send_to_endpoint``, besides the conversation's extra endpoints).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vumigo.errors import InvalidInput

CODE_SECTION = "jsbox"
APP_CONFIG_SECTION = "jsbox_app_config"
APP_CONFIG_KEY = "config"
#: Largest app source accepted: the original stored code in Riak with no limit, but every
#: message sends it to a new process once, and a megabyte of JavaScript is already generous.
MAX_CODE_BYTES = 2 * 1024 * 1024
MAX_VALUE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class JsBoxConfig:
    javascript: str | None = None
    #: What ``config.get`` answers: key to stored value (usually a string).
    app_config: Mapping[str, Any] = field(default_factory=dict)
    #: The app's own JSON config (the ``config`` key), parsed; empty if missing or broken.
    app: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> JsBoxConfig:
        code = config.get(CODE_SECTION)
        javascript = code.get("javascript") if isinstance(code, Mapping) else None
        values: dict[str, Any] = {}
        section = config.get(APP_CONFIG_SECTION)
        if isinstance(section, Mapping):
            for key, entry in section.items():
                # Vumi Go stored {"value": ..., "source_url": ...}; a bare value is accepted too.
                values[key] = entry.get("value") if isinstance(entry, Mapping) else entry
        return cls(
            javascript=javascript if isinstance(javascript, str) and javascript else None,
            app_config=values,
            app=parse_app_config(values.get(APP_CONFIG_KEY)),
        )

    @property
    def name(self) -> str | None:
        value = self.app.get("name")
        return value if isinstance(value, str) else None

    @property
    def process_events(self) -> bool:
        return self.app.get("process_events") is True

    @property
    def delivery_class(self) -> str | None:
        value = self.app.get("delivery_class")
        return value if isinstance(value, str) and value else None

    @property
    def endpoints(self) -> frozenset[str]:
        value = self.app.get("endpoints")
        # vumigo_v02 configs map endpoint names to options; a plain list is accepted too.
        if isinstance(value, Mapping | list):
            return frozenset(name for name in value if isinstance(name, str))
        return frozenset()


def parse_app_config(value: Any) -> dict[str, Any]:
    """The app's JSON config as a dict; {} when it is missing or not a JSON object."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _check_size(text: str, limit: int, what: str) -> None:
    if len(text.encode("utf-8", errors="surrogatepass")) > limit:
        raise InvalidInput(f"The {what} is too large (at most {limit // 1024} KiB).")


def check_app_config_value(key: str, value: str) -> None:
    """Refuses values an app could never use: key ``config`` must hold a JSON object (the
    toolkit throws on anything else), ``translation.*`` keys JSON."""
    if not key or len(key) > 255:
        raise InvalidInput("App config keys must be 1 to 255 characters.")
    _check_size(value, MAX_VALUE_BYTES, f"value of {key!r}")
    if key == APP_CONFIG_KEY or key.startswith("translation."):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise InvalidInput(f"The value of {key!r} must be JSON: {exc}") from None
        if key == APP_CONFIG_KEY and not isinstance(parsed, dict):
            raise InvalidInput(f"The value of {key!r} must be a JSON object.")


def with_code(config: Mapping[str, Any], javascript: str, source_url: str = "") -> dict[str, Any]:
    """A copy of a conversation config with new app code (a new dict, so a JSON column sees
    the change)."""
    if not javascript.strip():
        raise InvalidInput("The JavaScript is empty.")
    _check_size(javascript, MAX_CODE_BYTES, "JavaScript")
    return {**config, CODE_SECTION: {"javascript": javascript, "source_url": source_url}}


def with_app_config(
    config: Mapping[str, Any], key: str, value: str, source_url: str = ""
) -> dict[str, Any]:
    """A copy of a conversation config with one app config key set."""
    check_app_config_value(key, value)
    section = config.get(APP_CONFIG_SECTION)
    values = dict(section) if isinstance(section, Mapping) else {}
    values[key] = {"value": value, "source_url": source_url}
    return {**config, APP_CONFIG_SECTION: values}


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Checks a whole conversation config (``conversation configure``); returns it as is."""
    code = config.get(CODE_SECTION)
    if code is not None:
        if not isinstance(code, Mapping) or not isinstance(code.get("javascript", ""), str):
            raise InvalidInput("'jsbox' must be an object with a 'javascript' string.")
        _check_size(code.get("javascript", ""), MAX_CODE_BYTES, "JavaScript")
    section = config.get(APP_CONFIG_SECTION)
    if section is not None:
        if not isinstance(section, Mapping):
            raise InvalidInput("'jsbox_app_config' must be an object of {'value': ...} entries.")
        for key, entry in section.items():
            value = entry.get("value") if isinstance(entry, Mapping) else entry
            if not isinstance(value, str):
                raise InvalidInput(f"App config {key!r} must have a string 'value'.")
            check_app_config_value(key, value)
    return config
