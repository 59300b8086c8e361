"""The contacts pages in a real browser: import 200 contacts into a new group, watch the bar
fill, find one of them and open their page; and the pages at phone width.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CONSOLE_ERRORS, require_browser

require_browser()

from playwright.sync_api import Page, expect  # noqa: E402

ROWS = 200
CITIES = ["CPT", "JHB", "DBN", "PTA"]


def people_csv(folder: Path) -> Path:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Phone", "Name", "Surname", "City"])
    for n in range(ROWS):
        writer.writerow([f"+2782{n:07d}", f"Lerato{n:03d}", "Dlamini", CITIES[n % len(CITIES)]])
    path = folder / "people.csv"
    path.write_text(out.getvalue())
    return path


def test_import_into_a_new_group_with_progress(
    alice: tuple[Page, str],
    shots: Path,
    state: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    page, base = alice
    page.goto(f"{base}/")
    page.click(".nav-wide a:has-text('Contacts')")
    expect(page.locator("h1")).to_have_text("Contacts")
    page.click("a[role=button]:has-text('Import')")
    state["csv"] = people_csv(tmp_path_factory.mktemp("upload"))
    page.set_input_files("input[name=file]", state["csv"])
    page.click("main form button[type=submit]")

    # The mapping step: the header's words were recognised.
    expect(page.locator("h1")).to_have_text("What is in each column?")
    expect(page.locator("select[name=column-0]")).to_have_value("msisdn")
    expect(page.locator("select[name=column-1]")).to_have_value("name")
    expect(page.locator("select[name=column-3]")).to_have_value("city")
    page.screenshot(path=shots / "contacts-import-mapping.png", full_page=True)
    page.select_option("select[name=group]", "new")
    page.fill("input[name=new_group]", "Browser imports")
    page.click("text=Start the import")

    # The job's page polls until the bar is full.
    progress = page.locator("#import-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("value", "100", timeout=30_000)
    assert progress.evaluate("el => el.value") == 100
    expect(page.locator("#import-created")).to_have_text(str(ROWS))
    expect(page.locator("#group-members")).to_have_text(str(ROWS))
    page.locator("main").screenshot(path=shots / "contacts-import-progress.png")
    state["job_url"] = page.url

    # The group's page shows the same count, and the list of groups too.
    page.click("a[role=button]:has-text('Open Browser imports')")
    expect(page.locator("#member-count")).to_have_text(str(ROWS))
    page.goto(f"{base}/contacts/groups/")
    row = page.locator("#group-table tr", has_text="Browser imports")
    expect(row.locator(".member-count")).to_have_text(str(ROWS))


def test_search_and_open_a_person(alice: tuple[Page, str], shots: Path) -> None:
    page, base = alice
    page.goto(f"{base}/contacts/")
    expect(page.locator("#contact-count")).to_have_text(str(ROWS))
    page.screenshot(path=shots / "contacts-list.png", full_page=True)
    # Typing searches as you go (htmx), and the address follows.
    page.fill("input[name=q]", "Lerato123")
    expect(page.locator("#contact-count")).to_have_text("1")
    assert "q=Lerato123" in page.url
    # A query the search can't run says why, in place of the results.
    page.fill("input[name=q]", "name:(")
    expect(page.locator("#contact-results .flash-error")).to_contain_text("can't be run")
    page.fill("input[name=q]", "extras-city:CPT AND surname:Dlamini")
    expect(page.locator("#contact-count")).to_have_text(str(ROWS // len(CITIES)))
    page.fill("input[name=q]", "Lerato123")
    expect(page.locator("#contact-count")).to_have_text("1")
    page.click("#contact-results a:has-text('Lerato123 Dlamini')")
    expect(page.locator("#person-name")).to_have_text("Lerato123 Dlamini")
    expect(page.locator("main")).to_contain_text("+27820000123")
    expect(page.locator("main")).to_contain_text("Browser imports")
    expect(page.locator("dl.fields").nth(1)).to_contain_text("city")
    page.screenshot(path=shots / "contacts-person.png", full_page=True)


def test_edit_and_delete_with_confirmation(alice: tuple[Page, str]) -> None:
    page, base = alice
    page.goto(f"{base}/contacts/?q=Lerato007")
    page.click("#contact-results a:has-text('Lerato007')")
    page.click("a[role=button]:has-text('Edit')")
    page.fill("input[name=surname]", "Mokoena")
    page.click("main form button[type=submit]")
    expect(page.locator(".flash-success")).to_have_text("Saved.")
    expect(page.locator("#person-name")).to_have_text("Lerato007 Mokoena")
    # Dismissing the confirmation keeps the contact; accepting it deletes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button:has-text('Delete')")
    expect(page.locator("#person-name")).to_have_text("Lerato007 Mokoena")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Delete')")
    expect(page.locator(".flash-success")).to_contain_text("Deleted Lerato007 Mokoena")
    expect(page.locator("#contact-count")).to_have_text(str(ROWS - 1))


WIDEST = """() => Math.max(...Array.from(document.querySelectorAll("main *"),
    (el) => Math.round(el.getBoundingClientRect().right)))"""


def test_phone_width_has_no_sideways_scroll(
    alice: tuple[Page, str], shots: Path, state: dict[str, Any]
) -> None:
    page, base = alice
    page.set_viewport_size({"width": 375, "height": 812})
    try:
        pages = {
            "contacts-list": "/contacts/",
            "contacts-groups": "/contacts/groups/",
            "contacts-import": "/contacts/import/",
            "contacts-new": "/contacts/people/new",
            "contacts-import-result": state["job_url"].removeprefix(base),
        }
        for name, path in pages.items():
            page.goto(base + path)
            page.screenshot(path=shots / f"{name}-375.png")
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= 375, f"{name} scrolls sideways at 375px ({scroll_width}px)"
            # Nor does anything stick out past the edge (which a clipped page would hide).
            widest = page.evaluate(WIDEST)
            assert widest <= 375, f"{name}: something reaches {widest}px at 375px"
        # The mapping step of a new upload (left unstarted).
        page.goto(base + "/contacts/import/")
        page.set_input_files("input[name=file]", state["csv"])
        page.click("main form button[type=submit]")
        expect(page.locator("h1")).to_have_text("What is in each column?")
        page.screenshot(path=shots / "contacts-import-mapping-375.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.evaluate(WIDEST) <= 375, "the mapping step sticks out at 375px"
        page.goto(base + "/contacts/?q=Lerato123")
        page.click("#contact-results a:has-text('Lerato123')")
        page.screenshot(path=shots / "contacts-person-375.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.evaluate(WIDEST) <= 375
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_no_script_errors(alice: tuple[Page, str]) -> None:
    # The deliberately bad search answers 400; nothing else may log an error.
    errors = [text for text in CONSOLE_ERRORS if "400" not in text and "404" not in text]
    assert errors == []
