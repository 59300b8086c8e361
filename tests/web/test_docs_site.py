"""/docs/: the built documentation site, public, read-only, confined to its folder, with a
Content-Security-Policy allowing exactly each page's own inline scripts."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from vumigo.config import Settings
from vumigo.runtime import Platform
from vumigo.web import docs_site
from vumigo.web.app import create_app

INLINE = b"var palette = 1;"
PAGE = b"<html><head><script>" + INLINE + b'</script><script src="a.js"></script></head></html>'


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    (folder / "guide").mkdir(parents=True)
    (folder / "assets").mkdir()
    (folder / "index.html").write_bytes(PAGE)
    (folder / "guide" / "index.html").write_bytes(b"<html><body>guide</body></html>")
    (folder / "assets" / "app.js").write_text("console.log(1);")
    (tmp_path / "secret.txt").write_text("not for the web")
    (folder / "escape").symlink_to(tmp_path / "secret.txt")
    monkeypatch.setenv(docs_site.SITE_ENV, str(folder))
    return folder


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The docs need nothing of the platform, which is not started here.
    app = create_app(Platform(Settings(data_dir=tmp_path / "var")))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


def _hash(script: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"


async def test_pages_are_served_to_anyone_with_their_own_scripts_allowed(
    site: Path, client: httpx.AsyncClient
) -> None:
    moved = await client.get("/docs")
    assert (moved.status_code, moved.headers["location"]) == (308, "/docs/")
    home = await client.get("/docs/")
    assert home.status_code == 200 and home.content == PAGE
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    policy = home.headers["content-security-policy"]
    assert f"script-src 'self' {_hash(INLINE)};" in policy
    assert "frame-ancestors 'none'" in policy
    assert home.headers["x-content-type-options"] == "nosniff"
    # A page without inline scripts allows none.
    guide = await client.get("/docs/guide/")
    assert guide.status_code == 200 and b"guide" in guide.content
    assert "script-src 'self';" in guide.headers["content-security-policy"]
    asset = await client.get("/docs/assets/app.js")
    assert asset.status_code == 200 and asset.text == "console.log(1);"
    assert "javascript" in asset.headers["content-type"]


async def test_a_folder_without_its_slash_is_redirected(
    site: Path, client: httpx.AsyncClient
) -> None:
    moved = await client.get("/docs/guide?q=1")
    assert (moved.status_code, moved.headers["location"]) == (308, "/docs/guide/?q=1")


async def test_a_rebuilt_page_is_served_at_once(site: Path, client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs/guide/")).content.endswith(b"guide</body></html>")
    (site / "guide" / "index.html").write_bytes(b"<html><script>x()</script>new text</html>")
    again = await client.get("/docs/guide/")
    assert again.content.endswith(b"new text</html>")
    assert _hash(b"x()") in again.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/docs/nothing-here",
        "/docs/%2e%2e/secret.txt",
        "/docs/guide/%2e%2e/%2e%2e/secret.txt",
        "/docs/escape",  # a link out of the site
        "/docs/index.html%00.js",
        "/docs/assets%5capp.js",
    ],
)
async def test_nothing_outside_the_site_and_nothing_missing(
    site: Path, client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert b"not for the web" not in response.content
    assert b"Page not found" in response.content


async def test_the_docs_are_read_only(site: Path, client: httpx.AsyncClient) -> None:
    for method in ("POST", "PUT", "DELETE"):
        for path in ("/docs", "/docs/", "/docs/guide/"):
            response = await client.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "GET, HEAD"
            assert b"can only be read" in response.content
    head = await client.head("/docs/")
    assert head.status_code == 200


async def test_an_unbuilt_site_says_how_to_build_it(
    tmp_path: Path, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(docs_site.SITE_ENV, str(tmp_path / "never-built"))
    response = await client.get("/docs/")
    assert response.status_code == 404
    assert b"make docs" in response.content and b"never-built" in response.content
    assert (await client.get("/docs/guide/")).status_code == 404


def test_the_default_site_is_the_checkouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(docs_site.SITE_ENV, raising=False)
    checkout = Path(__file__).resolve().parents[2]
    assert docs_site.site_dir() == checkout / "site"
