"""The ``jsbox`` conversation type: JavaScript apps run in the sandbox (see ``app``)."""

from vumigo.apps.jsbox.app import SEND_JSBOX, JsBoxApp
from vumigo.apps.jsbox.push import send_jsbox

__all__ = ["SEND_JSBOX", "JsBoxApp", "send_jsbox"]
