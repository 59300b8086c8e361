"""Errors the platform's operations raise; the CLI prints them, the APIs map them to 4xx."""

from __future__ import annotations


class VumigoError(Exception):
    """Base of every expected, user-facing failure. ``str(err)`` is one line for a person."""

    status_code = 400


class InvalidInput(VumigoError):
    status_code = 400


class NotFound(VumigoError):
    status_code = 404


class PermissionDenied(VumigoError):
    status_code = 403


class Conflict(VumigoError):
    status_code = 409
