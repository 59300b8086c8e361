"""The documentation at ``/docs/``: the site ``make docs`` builds, so an installation documents
itself, in the version it runs.

The docs are **public**: they hold nothing of any account's (they are the same pages as in the
source), and the getting-started pages are for people who do not have an account yet.

The site is read from ``VUMIGO_DOCS_SITE`` if set, else from ``site/`` of the source checkout
(beside ``mkdocs.yml``), at each request, so a site built while the platform runs is served at
once. Without one, ``/docs/`` answers with a page saying how to build it.

Files are served as they are, from inside the site folder only. Every HTML page gets a
Content-Security-Policy that allows the site's own scripts and, by their hashes, exactly the
inline scripts the theme wrote into that page: nothing else may run, and nothing is loaded from
elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

import vumigo
from vumigo.runtime import Platform

SITE_ENV = "VUMIGO_DOCS_SITE"
PREFIX = "/docs"
ALLOWED = ("GET", "HEAD")
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
_CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def site_dir() -> Path:
    """Where the built site is (or would be): ``VUMIGO_DOCS_SITE``, else the checkout's."""
    configured = os.environ.get(SITE_ENV, "").strip()
    if configured:
        return Path(configured)
    checkout = Path(vumigo.__file__).resolve().parents[2]
    if (checkout / "mkdocs.yml").is_file():
        return checkout / "site"
    return Path.cwd() / "site"


def csp_for(page: bytes) -> str:
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(page)
    )
    return _CSP.format(hashes=hashes)


@lru_cache(maxsize=256)
def _read_page(path: Path, mtime_ns: int, size: int) -> tuple[bytes, str]:
    # Keyed by mtime and size as well, so a rebuilt site is never served from the cache.
    body = path.read_bytes()
    return body, csp_for(body)


def resolve(site: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``site``, or None if it names nothing there (or
    anything outside it, through ``..`` or a link)."""
    if "\x00" in relative or "\\" in relative:
        return None
    root = site.resolve()
    try:
        target = (root / relative.lstrip("/")).resolve()
    except (OSError, RuntimeError):  # a loop of links, a name too long
        return None
    if not target.is_relative_to(root):
        return None
    return target


def _page(status: int, title: str, text: str, headers: dict[str, str] | None = None) -> Response:
    body = f"""<!doctype html>
<html lang="en" data-theme="light">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{html.escape(title)} · Vumi Go</title>
  <link rel="stylesheet" href="/static/vendor/pico.min.css">
</head>
<body>
  <main class="container">
    <h1>{html.escape(title)}</h1>
    {text}
  </main>
</body>
</html>
"""
    return Response(
        body,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers={**_HEADERS, "Content-Security-Policy": _CSP.format(hashes=""), **(headers or {})},
    )


def not_built(site: Path) -> Response:
    return _page(
        404,
        "The documentation has not been built",
        "<p>This installation serves its documentation here once it has been built. In the "
        "source checkout, run</p>\n    <pre><code>make docs</code></pre>\n    <p>which "
        "writes the site to <code>site/</code>; or set <code>VUMIGO_DOCS_SITE</code> to a "
        "built site. It is looked for at <code>"
        f"{html.escape(str(site))}</code>. No restart is needed.</p>\n    <p>The same "
        "pages are in the <code>docs/</code> folder of the source, as Markdown.</p>",
    )


def not_found() -> Response:
    return _page(
        404,
        "Page not found",
        '<p>There is no such page in the documentation. <a href="/docs/">Start here</a>.</p>',
    )


def serve(request: Request, relative: str) -> Response:
    if request.method not in ALLOWED:
        return _page(
            405,
            "Not allowed",
            "<p>The documentation can only be read.</p>",
            {"Allow": ", ".join(ALLOWED)},
        )
    site = site_dir()
    if not (site / "index.html").is_file():
        return not_built(site)
    target = resolve(site, relative)
    if target is None:
        return not_found()
    if target.is_dir():
        if relative and not relative.endswith("/"):
            # Pages link to their neighbours relatively: they must be read as folders.
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{PREFIX}/{relative}/{query}", status_code=308)
        target = target / "index.html"
    if not target.is_file():
        return not_found()
    if target.suffix == ".html":
        stat = target.stat()
        body, csp = _read_page(target, stat.st_mtime_ns, stat.st_size)
        return Response(
            body,
            media_type="text/html; charset=utf-8",
            headers={**_HEADERS, "Content-Security-Policy": csp},
        )
    return FileResponse(
        target, headers={**_HEADERS, "Content-Security-Policy": _CSP.format(hashes="")}
    )


def install(app: FastAPI, platform: Platform) -> None:
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    async def root(request: Request) -> Response:
        if request.method not in ALLOWED:
            return serve(request, "")
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    async def page(request: Request) -> Response:
        return serve(request, request.path_params["path"])

    app.add_api_route(PREFIX, root, methods=methods, include_in_schema=False)
    app.add_api_route(f"{PREFIX}/{{path:path}}", page, methods=methods, include_in_schema=False)
