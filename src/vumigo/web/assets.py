"""Front-end assets served locally: our own files, and an allow-list of files from node_modules.

htmx, Pico CSS and CodeMirror come from npm (pinned in package.json) and are served straight from
``node_modules``, so there is no build or copy step and nothing is fetched from a CDN. Only the
files named in ``VENDOR`` can be reached: the rest of node_modules (the sandbox toolkit, test
tools) is never exposed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

OWN = Path(__file__).parent / "static"

# URL name under /static/vendor/ → (npm package, file inside it).
VENDOR: dict[str, tuple[str, str]] = {
    "htmx.min.js": ("htmx.org", "dist/htmx.min.js"),
    "pico.min.css": ("@picocss/pico", "css/pico.min.css"),
    # The jsbox code editor (CodeMirror 5: plain scripts, no bundler).
    "codemirror.js": ("codemirror", "lib/codemirror.js"),
    "codemirror.css": ("codemirror", "lib/codemirror.css"),
    "codemirror-javascript.js": ("codemirror", "mode/javascript/javascript.js"),
    "codemirror-matchbrackets.js": ("codemirror", "addon/edit/matchbrackets.js"),
}

CACHE = "public, max-age=86400"


def find_node_modules(start: Path | None = None) -> Path | None:
    """The nearest node_modules holding our UI packages: ``VUMIGO_NODE_MODULES`` if set, else
    from this package upwards (a source checkout), else the working directory's."""
    override = os.environ.get("VUMIGO_NODE_MODULES")
    candidates = [Path(override)] if override else []
    here = (start or Path(__file__)).resolve()
    candidates += [folder / "node_modules" for folder in here.parents]
    candidates.append(Path.cwd() / "node_modules")
    for candidate in candidates:
        if (candidate / "htmx.org").is_dir():
            return candidate
    return None


class VendorFiles:
    """An ASGI app answering only for the allow-listed node_modules files."""

    def __init__(self, node_modules: Path | None) -> None:
        self.files: dict[str, Path] = {}
        if node_modules is None:
            log.warning("node_modules not found: the UI will have no styles or htmx (npm ci)")
            return
        for name, (package, inner) in VENDOR.items():
            path = node_modules / package / inner
            if path.is_file():
                self.files[name] = path
            else:
                log.warning("UI asset missing: %s (npm ci)", path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"].rsplit("/", 1)[-1]
        path = self.files.get(name)
        if path is None or scope.get("method") not in ("GET", "HEAD"):
            raise HTTPException(404, "Not Found")
        response = FileResponse(path, headers={"Cache-Control": CACHE})
        await response(scope, receive, send)


def own_files() -> StaticFiles:
    return StaticFiles(directory=OWN)
