"""The one error the HTTP API answers with: a status and a reason, as the original's JSON."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """Answered as ``{"success": false, "reason": reason}`` with ``status``."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})


INVALID_MESSAGE = "Invalid Message"
