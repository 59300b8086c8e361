"""The group message conversation type and the windowed group sender other types share."""

from vumigo.apps.bulk_message.app import BulkMessageApp

__all__ = ["BulkMessageApp"]
