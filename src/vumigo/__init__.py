"""Vumi Go: a hosted, multi-tenant messaging platform for SMS, USSD and chat."""

__version__ = "0.1.0"
