"""The site builds with ``mkdocs build --strict`` (no broken link, no missing snippet), and
every runnable example in it is a file under docs/examples/ that a test here runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.docs.conftest import EXAMPLES
from vumigo.config import Settings
from vumigo.runtime import Platform
from vumigo.web import docs_site
from vumigo.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HERE = Path(__file__).resolve().parent
# Pages other parts of the project write; their code blocks are theirs to vouch for.
NOT_OURS = {"deploy.md", "transports.md", "benchmarks.md"}
# Code written into a page (not pulled from docs/examples/) must not be a runnable program.
RUNNABLE = {"js", "javascript", "python", "py", "bash", "sh", "shell"}
_FENCE = re.compile(r"^(```+)\s*([\w-]*)([^\n]*)\n(.*?)^\1\s*$", re.DOTALL | re.MULTILINE)
_SNIPPET = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$', re.MULTILINE)


def _pages() -> list[Path]:
    return [p for p in DOCS.rglob("*.md") if p.relative_to(DOCS).as_posix() not in NOT_OURS]


async def test_mkdocs_builds_the_site_strictly_and_the_platform_serves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed (it is in the test extra: pip install -e '.[test]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr
    built = tmp_path / "site"
    for page in ("index.html", "reference/sandbox-resources/index.html", "404.html"):
        assert (built / page).is_file(), page
    # A snippet was pulled in, not left as its marker.
    first_app = (built / "getting-started" / "first-js-app" / "index.html").read_text()
    assert "kv.incr" in first_app and "--8&lt;--" not in first_app
    # Nothing is loaded from elsewhere (the theme's web fonts are off): the platform's
    # Content-Security-Policy would refuse it anyway.
    outside = re.compile(r"<(?:script|link|img)[^>]+(?:src|href)=\"(?:https?:)?//", re.I)
    offenders = [p.name for p in built.rglob("*.html") if outside.search(p.read_text())]
    assert offenders == []

    # The platform serves what was built at /docs/, pages and assets alike.
    monkeypatch.setenv(docs_site.SITE_ENV, str(built))
    app = create_app(Platform(Settings(data_dir=tmp_path / "var")))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = await http.get("/docs/getting-started/first-js-app/")
        assert page.status_code == 200 and b"visit counter" in page.content
        assert "sha256-" in page.headers["content-security-policy"]
        search = await http.get("/docs/search/search_index.json")
        assert search.status_code == 200 and "docs" in search.json()
        source = await http.get("/docs/examples/jsbox/kv_counter.js")
        assert source.status_code == 200 and b"kv.incr" in source.content


def test_every_example_is_shown_and_run() -> None:
    shown = {
        match for page in _pages() for match in _SNIPPET.findall(page.read_text(encoding="utf-8"))
    }
    tests = "\n".join(p.read_text() for p in HERE.glob("test_*.py"))
    examples = sorted(
        p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*") if p.is_file()
    )
    not_shown = [e for e in examples if e not in shown]
    assert not_shown == [], f"example files no page shows: {not_shown}"
    assert sorted(shown - set(examples)) == [], "pages show examples that do not exist"
    # Run: named by a test, or used by an example that is run (the guide's script runs the
    # counter app and reads contacts.csv).
    run = {e for e in examples if Path(e).name in tests}
    grew = True
    while grew:
        used = "\n".join((EXAMPLES / e).read_text() for e in run)
        more = {e for e in examples if Path(e).name in used} - run
        run |= more
        grew = bool(more)
    not_run = [e for e in examples if e not in run]
    assert not_run == [], f"example files no test in tests/docs runs: {not_run}"


def test_runnable_code_in_pages_comes_from_tested_files() -> None:
    written_in: list[str] = []
    for page in _pages():
        for _, language, _, body in _FENCE.findall(page.read_text(encoding="utf-8")):
            if language.lower() in RUNNABLE and not _SNIPPET.search(body):
                written_in.append(f"{page.relative_to(DOCS)}: {body.splitlines()[0][:60]}")
    assert written_in == [], (
        f"put runnable examples in docs/examples/ (with a test) and include them: {written_in}"
    )
