"""What a page handler works with: the request, the platform, who is signed in, and responses.

``UIRoute`` (see ``uiroute``) builds a ``Web`` for every UI request before the handler runs; the
handlers take it through the ``Page`` (signed in) or ``Public`` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.runtime import Platform
from vumigo.web import sessions
from vumigo.web.sessions import SignedIn
from vumigo.web.templating import environment


class SignInRequired(Exception):
    """The page needs a signed-in user and there is none."""


@dataclass(slots=True)
class Web:
    request: Request
    platform: Platform
    user: SignedIn | None
    anon_csrf: str
    anon_csrf_is_new: bool = False

    @property
    def db(self) -> Database:
        return self.platform.db

    @property
    def settings(self) -> Settings:
        return self.platform.settings

    @property
    def me(self) -> SignedIn:
        if self.user is None:
            raise SignInRequired()
        return self.user

    @property
    def account_key(self) -> str:
        return self.me.account_key

    @property
    def csrf_token(self) -> str:
        return self.user.csrf_token if self.user is not None else self.anon_csrf

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def changed(self) -> None:
        """Call after a write the engine must see now, not after its look-up cache expires."""
        self.platform.engine.lookups.forget()

    async def flash(self, level: str, text: str) -> None:
        """Queues a message for the next full page (``success``, ``error`` or ``info``)."""
        if self.user is not None:
            await sessions.add_flash(self.db, self.user, level, text)

    def _context(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "request": self.request,
            "web": self,
            "user": self.user,
            "csrf_token": self.csrf_token,
            "path": self.request.url.path,
            "params": dict(self.request.query_params),
            **extra,
        }

    async def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A full page; queued flash messages show on it (and are then cleared)."""
        flashes = await sessions.take_flashes(self.db, self.user) if self.user else []
        flashes += context.pop("notices", [])
        html = environment.get_template(template).render(
            self._context({"flashes": flashes, **context})
        )
        return HTMLResponse(html, status_code=status)

    def fragment(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Part of a page, for htmx to swap in; flash messages wait for the next full page."""
        html = environment.get_template(template).render(self._context(context))
        return HTMLResponse(html, status_code=status)

    def redirect(self, url: str) -> Response:
        """See Other to ``url``; for htmx requests, a header telling htmx to navigate."""
        if self.is_htmx:
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)


def web_of(request: Request) -> Web:
    web = getattr(request.state, "web", None)
    if not isinstance(web, Web):  # a route outside UIRoute asked for a page context
        raise RuntimeError("UI handlers must be mounted with UIRoute")
    return web


def require_user(request: Request) -> Web:
    web = web_of(request)
    if web.user is None:
        raise SignInRequired()
    return web


Page = Annotated[Web, Depends(require_user)]
Public = Annotated[Web, Depends(web_of)]


def sign_in_url(next_path: str) -> str:
    return "/signin?next=" + quote(next_path, safe="/")
