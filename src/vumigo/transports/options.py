"""Reading a transport's own settings out of its pool's flat, dotted metadata.

Pool metadata arrives flattened (``smpp.port``, ``http_sms.body_fields.to``) and, depending on
whether it came from YAML, JSON or ``--meta key=value``, with real types or as strings. These
helpers read one setting with its type, so ``"2775"`` and ``2775`` both make a port, and say
which key was wrong when one is. Webhook authentication, shared by the HTTP transports, is
here too.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from typing import Any

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class OptionError(ValueError):
    """A pool's metadata has a setting the transport cannot use."""


class Options:
    """The settings under one prefix (``smpp.``) of one pool's metadata."""

    def __init__(self, meta: Mapping[str, Any], prefix: str) -> None:
        self.prefix = prefix.rstrip(".") + "."
        self.values = {
            k[len(self.prefix) :]: v for k, v in meta.items() if k.startswith(self.prefix)
        }

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def raw(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def get_str(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        if value is None:
            return default
        if isinstance(value, dict | list):
            raise OptionError(f"{self._key(name)} must be text, not {value!r}")
        return str(value)

    def get_int(self, name: str, default: int) -> int:
        value = self.values.get(name, default)
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise OptionError(f"{self._key(name)} must be a whole number, not {value!r}") from None

    def get_float(self, name: str, default: float) -> float:
        value = self.values.get(name, default)
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise OptionError(f"{self._key(name)} must be a number, not {value!r}") from None

    def get_bool(self, name: str, default: bool) -> bool:
        value = self.values.get(name, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise OptionError(f"{self._key(name)} must be true or false, not {value!r}")

    def get_choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.get_str(name, default).strip().lower()
        if value not in choices:
            raise OptionError(
                f"{self._key(name)} must be one of {', '.join(choices)}, not {value!r}"
            )
        return value

    def get_list(self, name: str) -> list[str]:
        """A list given as a list, a JSON list or comma-separated text."""
        value = self.values.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise OptionError(f"{self._key(name)} is not a JSON list") from None
            else:
                return [part.strip() for part in text.split(",") if part.strip()]
        if not isinstance(value, list):
            raise OptionError(f"{self._key(name)} must be a list, not {value!r}")
        return [str(item) for item in value]

    def get_mapping(self, name: str) -> dict[str, str]:
        """A mapping given either nested (flattened to ``name.key`` entries) or as a JSON object."""
        found: dict[str, str] = {}
        whole = self.values.get(name)
        if isinstance(whole, str) and whole.strip():
            try:
                whole = json.loads(whole)
            except ValueError:
                raise OptionError(f"{self._key(name)} is not a JSON object") from None
        if isinstance(whole, dict):
            found.update({str(k): str(v) for k, v in whole.items()})
        elif whole not in (None, ""):
            raise OptionError(f"{self._key(name)} must be a mapping, not {whole!r}")
        inner = f"{name}."
        for key, value in self.values.items():
            if key.startswith(inner):
                found[key[len(inner) :]] = str(value)
        return found


def check_webhook_auth(
    options: Options, headers: Mapping[str, str], params: Mapping[str, str]
) -> bool:
    """Whether a webhook call carries the pool's credentials.

    ``secret``: a shared secret, in the header named by ``secret_header`` (default
    ``X-Vumigo-Secret``) or the request parameter ``secret_param`` (default ``secret``).
    ``username``/``password``: HTTP basic auth. With both configured, either will do; with
    neither, every call is let in (only sensible behind a gateway that checks for us).
    """
    secret = options.get_str("secret")
    username, password = options.get_str("username"), options.get_str("password")
    if not secret and not username:
        return True
    if secret:
        header = options.get_str("secret_header", "X-Vumigo-Secret").lower()
        given = headers.get(header) or params.get(options.get_str("secret_param", "secret")) or ""
        if hmac.compare_digest(given.encode(), secret.encode()):
            return True
    if username:
        credentials = _basic_credentials(headers.get("authorization", ""))
        if credentials is not None:
            ok_user = hmac.compare_digest(credentials[0].encode(), username.encode())
            ok_password = hmac.compare_digest(credentials[1].encode(), password.encode())
            return ok_user and ok_password
    return False


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
