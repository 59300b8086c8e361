"""Makes the installed go-http 0.3.2 usable on Python 3, by patching it at import time.

go-http has two Python 2 leftovers (see shared/reference/http-clients.md §1):

* ``go_http.optouts`` calls ``urllib.quote``, which is ``urllib.parse.quote`` on Python 3;
* ``ContactsApiClient.get_contact(field=value)`` indexes ``kw.items()[0]``, a list on Python 2.

Everything else in the clients runs unchanged, so the tests exercise go-http's own request code.
Import ``ContactsApiClient`` and ``OptOutsApiClient`` from here.
"""

from __future__ import annotations

import types
import urllib.parse
from typing import Any

import go_http.contacts
import go_http.optouts
from go_http.contacts import ContactsApiClient
from go_http.optouts import OptOutsApiClient

# Python 2's urllib.quote kept "/" by default, as urllib.parse.quote does.
go_http.optouts.urllib = types.SimpleNamespace(quote=urllib.parse.quote)  # type: ignore[attr-defined]

_get_contact = ContactsApiClient.get_contact


def _get_contact_py3(self: ContactsApiClient, *args: Any, **kw: Any) -> Any:
    if len(kw) == 1 and not args:
        ((field, value),) = kw.items()
        return self._contact_by_field(field, value)
    return _get_contact(self, *args, **kw)


ContactsApiClient.get_contact = _get_contact_py3

__all__ = ["ContactsApiClient", "OptOutsApiClient"]
