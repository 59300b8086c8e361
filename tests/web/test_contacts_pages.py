"""Contacts pages: list, search and paging; a person's page; groups; import with progress; export.

Every page is checked for scoping (another account's keys are 404), CSRF, and bad input (a 400
page that says what is wrong, never a 500).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select, update

from tests.web.helpers import Browser
from vumigo.contacts import groups as group_service
from vumigo.contacts import service
from vumigo.contacts.import_runner import runner_for
from vumigo.db.base import utcnow
from vumigo.db.models import Account, Contact, ContactImport, GroupMember
from vumigo.web.pages import contacts_import


async def make_contacts(me: Browser, count: int, **fields: str) -> list[str]:
    keys = []
    async with me.db.transaction() as session:
        for n in range(count):
            data = {"name": f"Person{n:03d}", "msisdn": f"+2782{n:07d}", **fields}
            keys.append((await service.create_contact(session, me.account, data)).key)
    return keys


async def make_group(me: Browser, name: str, query: str | None = None) -> str:
    async with me.db.transaction() as session:
        return (await group_service.create_group(session, me.account, name, query)).key


def location_key(response: object, pattern: str) -> str:
    found = re.match(pattern, response.headers["location"])  # type: ignore[attr-defined]
    assert found, response.headers["location"]  # type: ignore[attr-defined]
    return found.group(1)


async def upload(me: Browser, name: str, content: bytes, group: str = "") -> object:
    return await me.client.post(
        "/contacts/import/",
        data={"csrf_token": me.token, "group": group},
        files={"file": (name, content, "application/octet-stream")},
    )


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


# -- the list, search and paging ---------------------------------------------------------------


async def test_list_pages_by_key_and_counts(browser: Browser) -> None:
    keys = sorted(await make_contacts(browser, 120))
    first = await browser.get("/contacts/")
    assert first.status_code == 200
    assert '<span id="contact-count">120</span>' in first.text
    assert first.text.count('name="contact"') == 50
    assert f'value="{keys[0]}"' in first.text and f'value="{keys[50]}"' not in first.text
    assert 'rel="prev"' not in first.text
    second = await browser.get(f"/contacts/?after={keys[49]}")
    assert f'value="{keys[50]}"' in second.text and f'value="{keys[99]}"' in second.text
    assert f"before={keys[50]}" in second.text and f"after={keys[99]}" in second.text
    back = await browser.get(f"/contacts/?before={keys[50]}")
    assert f'value="{keys[0]}"' in back.text and f'value="{keys[49]}"' in back.text
    assert 'rel="prev"' not in back.text
    last = await browser.get(f"/contacts/?after={keys[99]}")
    assert last.text.count('name="contact"') == 20 and 'rel="next"' not in last.text
    # A cursor that cannot be a key is ignored, not sent to the database.
    assert (await browser.get("/contacts/?after=" + "x" * 500)).status_code == 200


async def test_search_by_query_name_and_number(browser: Browser) -> None:
    await make_contacts(browser, 3)
    async with browser.db.transaction() as session:
        await service.create_contact(
            session,
            browser.account,
            {"name": "Thandi", "msisdn": "+27829999999", "extra": {"city": "CPT"}},
        )
    for q in ("extras-city:CPT", "Thandi", "name:Than*", "+27829999999", "27829999999"):
        found = await browser.get("/contacts/", params={"q": q})
        assert found.status_code == 200, q
        assert '<span id="contact-count">1</span>' in found.text, q
        assert ">Thandi</a>" in found.text, q
    none = await browser.get("/contacts/", params={"q": "name:Nobody"})
    assert "No contacts match." in none.text
    # htmx asks for the results alone.
    partial = await browser.get(
        "/contacts/",
        params={"q": "Thandi"},
        headers={"HX-Request": "true", "HX-Target": "contact-results"},
    )
    assert partial.status_code == 200 and "<html" not in partial.text and "Thandi" in partial.text


@pytest.mark.parametrize("q", ["name:(", "nosuchfield:x", "name:[a TO", "AND", "x" * 5000])
async def test_bad_search_is_a_400_page(browser: Browser, q: str) -> None:
    page = await browser.get("/contacts/", params={"q": q})
    assert page.status_code == 400
    assert "That search can't be run" in page.text and "<html" in page.text
    partial = await browser.get(
        "/contacts/",
        params={"q": q},
        headers={"HX-Request": "true", "HX-Target": "contact-results"},
    )
    assert partial.status_code == 400 and "<html" not in partial.text
    export = await browser.get("/contacts/export.csv", params={"q": q})
    assert export.status_code == 400 and "text/html" in export.headers["content-type"]


async def test_counts_are_capped_and_broad_matches_page_too(
    browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vumigo.web.pages import contacts_paging

    monkeypatch.setattr(contacts_paging, "CAP", 5)
    monkeypatch.setattr(contacts_paging, "PER_PAGE", 3)
    made = await make_contacts(browser, 8)  # Person000 to Person007
    keys = sorted(made)
    await make_contacts(browser, 1, name="Other")
    everyone = await browser.get("/contacts/")
    assert '<span id="contact-count">5+</span>' in everyone.text
    # More matches than the cap: paged by walking the keys, counted as "5+".
    broad = await browser.get("/contacts/", params={"q": "name:Person*"})
    assert '<span id="contact-count">5+</span>' in broad.text
    assert broad.text.count('name="contact"') == 3 and f"after={keys[2]}" in broad.text
    last = await browser.get("/contacts/", params={"q": "name:Person*", "after": keys[5]})
    assert [k for k in keys if f'value="{k}"' in last.text] == keys[6:]
    assert 'rel="next"' not in last.text and f"before={keys[6]}" in last.text
    # Fewer: all their keys are read once, which gives the exact count and every page.
    few = sorted(made[:4])
    query = "name:[Person000 TO Person003]"
    narrow = await browser.get("/contacts/", params={"q": query})
    assert '<span id="contact-count">4</span>' in narrow.text
    assert [k for k in keys if f'value="{k}"' in narrow.text] == few[:3]
    assert f"after={few[2]}" in narrow.text and 'rel="prev"' not in narrow.text
    rest = await browser.get("/contacts/", params={"q": query, "after": few[2]})
    assert [k for k in keys if f'value="{k}"' in rest.text] == [few[3]]
    assert 'rel="next"' not in rest.text and f"before={few[3]}" in rest.text
    back = await browser.get("/contacts/", params={"q": query, "before": few[3]})
    assert [k for k in keys if f'value="{k}"' in back.text] == few[:3]
    assert 'rel="prev"' not in back.text and f"after={few[2]}" in back.text


# -- one person --------------------------------------------------------------------------------


async def test_create_show_edit_delete_a_person(browser: Browser) -> None:
    async with browser.db.transaction() as session:
        account = await session.get(Account, browser.account)
        assert account is not None
        account.msisdn = "+27820000001"  # national numbers are read as South African
    group = await make_group(browser, "Friends")
    form = await browser.get("/contacts/people/new")
    assert form.status_code == 200 and 'name="msisdn"' in form.text and "Friends" in form.text
    made = await browser.post(
        "/contacts/people/new",
        {
            "name": "Sipho",
            "surname": "Nkosi",
            "msisdn": "082 123 4567",
            "extra": "city = JHB\nlanguage=zu\n",
            "subscription": "news = subscribed",
            "group": group,
        },
    )
    assert made.status_code == 303
    key = location_key(made, r"/contacts/people/([0-9a-f]{32})/$")
    async with browser.db.sessions() as session:
        contact = await session.get(Contact, key)
        assert contact is not None and contact.msisdn == "+27821234567"
        assert contact.extra == {"city": "JHB", "language": "zu"}
        assert contact.subscription == {"news": "subscribed"}
        member = await session.get(GroupMember, (group, key))
        assert member is not None
    page = await browser.get(f"/contacts/people/{key}/")
    assert page.status_code == 200
    for text in (
        "Sipho Nkosi",
        "+27821234567",
        "<code>city</code>",
        "JHB",
        "subscribed",
        "Friends",
    ):
        assert text in page.text
    # A smart group the person matches is listed too.
    await make_group(browser, "Joburg", "extras-city:JHB")
    assert "Joburg" in (await browser.get(f"/contacts/people/{key}/")).text

    edit_form = await browser.get(f"/contacts/people/{key}/edit")
    assert "city = JHB" in edit_form.text
    bad = await browser.post(
        f"/contacts/people/{key}/edit", {"name": "Sipho", "extra": "no equals sign here"}
    )
    assert bad.status_code == 400 and "name = value" in bad.text
    assert "no equals sign here" in bad.text  # what was typed is kept
    too_long = await browser.post(f"/contacts/people/{key}/edit", {"name": "x" * 300})
    assert too_long.status_code == 400 and "at most 255" in too_long.text
    saved = await browser.post(
        f"/contacts/people/{key}/edit",
        {"name": "Sipho", "surname": "", "msisdn": "+27821234567", "extra": "city = DBN"},
    )
    assert saved.status_code == 303
    async with browser.db.sessions() as session:
        contact = await session.get(Contact, key)
        assert contact is not None and contact.surname is None and contact.extra == {"city": "DBN"}

    removed = await browser.post(
        f"/contacts/people/{key}/groups", {"group": group, "action": "remove"}
    )
    assert removed.status_code == 303
    added = await browser.post(f"/contacts/people/{key}/groups", {"group": group, "action": "add"})
    assert added.status_code == 303
    smart = await make_group(browser, "Smart", "name:*")
    refused = await browser.post(
        f"/contacts/people/{key}/groups", {"group": smart, "action": "add"}
    )
    assert refused.status_code == 400 and "static group" in refused.text

    gone = await browser.post(f"/contacts/people/{key}/delete")
    assert gone.status_code == 303 and gone.headers["location"] == "/contacts/"
    assert (await browser.get(f"/contacts/people/{key}/")).status_code == 404


async def test_new_contact_with_bad_input_shows_the_form_again(browser: Browser) -> None:
    bad = await browser.post("/contacts/people/new", {"name": "A", "extra": "=x"})
    assert bad.status_code == 400 and "name = value" in bad.text and 'value="A"' in bad.text
    nul = await browser.post("/contacts/people/new", {"name": "A\x00B"})
    assert nul.status_code == 400
    foreign = await browser.post("/contacts/people/new", {"name": "A", "group": "f" * 32})
    assert foreign.status_code == 400 and "not found" in foreign.text
    async with browser.db.sessions() as session:
        assert (await session.scalars(select(Contact))).all() == []


# -- groups ------------------------------------------------------------------------------------


async def test_groups_list_create_show_edit_delete(browser: Browser) -> None:
    keys = await make_contacts(browser, 60, surname="Zulu")
    made = await browser.post("/contacts/groups/new", {"name": "Team", "query": ""})
    assert made.status_code == 303
    team = location_key(made, r"/contacts/groups/([0-9a-f]{32})/$")
    smart_made = await browser.post(
        "/contacts/groups/new", {"name": "Zulus", "query": "surname:Zulu"}
    )
    smart = location_key(smart_made, r"/contacts/groups/([0-9a-f]{32})/$")
    bad = await browser.post("/contacts/groups/new", {"name": "Bad", "query": "name:("})
    assert bad.status_code == 400 and "Invalid query" in bad.text and 'value="name:("' in bad.text
    nameless = await browser.post("/contacts/groups/new", {"name": ""})
    assert nameless.status_code == 400 and "Give the group a name" in nameless.text

    # Add 55 to the static group from the list's bulk form, take 5 out again.
    added = await browser.post(
        "/contacts/bulk",
        {"contact": keys[:55], "group": team, "action": "add", "next": "/contacts/?q=x"},
    )
    assert added.status_code == 303 and added.headers["location"] == "/contacts/?q=x"
    removed = await browser.post(
        "/contacts/bulk",
        {"contact": keys[:5], "group": team, "action": "remove", "next": "https://evil.example/"},
    )
    assert removed.status_code == 303 and removed.headers["location"] == "/contacts/"

    listing = await browser.get("/contacts/groups/")
    assert listing.status_code == 200
    assert re.search(r'<span class="member-count">50</span>', listing.text)
    assert f'hx-get="/contacts/groups/{smart}/count"' in listing.text
    counted = await browser.get(f"/contacts/groups/{smart}/count")
    assert counted.text.strip() == '<span class="member-count">60</span>'
    assert "Zulus" not in (await browser.get("/contacts/groups/?kind=static")).text
    assert "Team" not in (await browser.get("/contacts/groups/?kind=smart")).text

    page = await browser.get(f"/contacts/groups/{team}/")
    assert page.status_code == 200
    assert '<strong id="member-count">50</strong>' in page.text
    assert page.text.count('name="contact"') == 50 and 'rel="next"' not in page.text
    members = sorted(keys[5:55])
    assert f'value="{members[0]}"' in page.text
    smart_page = await browser.get(f"/contacts/groups/{smart}/")
    assert '<strong id="member-count">60</strong>' in smart_page.text
    assert 'rel="next"' in smart_page.text
    next_key = sorted(keys)[49]
    more = await browser.get(f"/contacts/groups/{smart}/?after={next_key}")
    assert more.text.count('name="contact"') == 10

    renamed = await browser.post(f"/contacts/groups/{smart}/edit", {"name": "Z", "query": "x:("})
    assert renamed.status_code == 400
    renamed = await browser.post(f"/contacts/groups/{smart}/edit", {"name": "Z", "query": ""})
    assert renamed.status_code == 400 and "needs a query" in renamed.text
    renamed = await browser.post(
        f"/contacts/groups/{smart}/edit", {"name": "Zs", "query": "name:Person00*"}
    )
    assert renamed.status_code == 303
    assert (
        '<strong id="member-count">10</strong>'
        in (await browser.get(f"/contacts/groups/{smart}/")).text
    )

    deleted = await browser.post(f"/contacts/groups/{team}/delete")
    assert deleted.status_code == 303
    assert (await browser.get(f"/contacts/groups/{team}/")).status_code == 404
    async with browser.db.sessions() as session:
        assert len((await session.scalars(select(Contact))).all()) == 60  # contacts kept


async def test_bulk_actions_refuse_bad_input(browser: Browser) -> None:
    keys = await make_contacts(browser, 2)
    team = await make_group(browser, "Team")
    smart = await make_group(browser, "Smart", "name:*")
    cases = [
        ({"contact": keys, "group": team}, "add the contacts"),
        ({"group": team, "action": "add"}, "Select at least one"),
        ({"contact": keys, "action": "add"}, "Choose a group"),
        ({"contact": keys, "group": smart, "action": "add"}, "static group"),
        ({"contact": ["f" * 32], "group": team, "action": "add"}, "not found"),
        ({"contact": ["k"] * 501, "group": team, "action": "add"}, "at most 500"),
    ]
    for data, message in cases:
        response = await browser.post("/contacts/bulk", data)
        assert response.status_code == 400, data
        assert message in response.text, data


# -- export ------------------------------------------------------------------------------------


async def test_export_search_and_group_as_csv(browser: Browser) -> None:
    keys = await make_contacts(browser, 3)
    team = await make_group(browser, "Team")
    async with browser.db.transaction() as session:
        await group_service.add_to_group(session, browser.account, team, keys[:2])
    everyone = await browser.get("/contacts/export.csv")
    assert everyone.status_code == 200 and everyone.headers["content-type"].startswith("text/csv")
    assert "attachment" in everyone.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(everyone.text)))
    assert rows[0][0] == "key" and len(rows) == 4
    found = list(
        csv.reader(io.StringIO((await browser.get("/contacts/export.csv?q=Person001")).text))
    )
    assert [row[0] for row in found[1:]] == [keys[1]]
    grouped = await browser.get(f"/contacts/groups/{team}/export.csv")
    assert sorted(row[0] for row in list(csv.reader(io.StringIO(grouped.text)))[1:]) == sorted(
        keys[:2]
    )


# -- import ------------------------------------------------------------------------------------


async def test_import_upload_map_run_and_result(browser: Browser) -> None:
    rows = [["Phone", "First name", "City"]] + [
        [f"+2783{n:07d}", f"Name{n}", "CPT"] for n in range(30)
    ]
    uploaded = await upload(browser, "people.csv", csv_bytes(rows))
    assert uploaded.status_code == 303
    job = location_key(uploaded, r"/contacts/import/([0-9a-f]{32})/$")
    mapping = await browser.get(f"/contacts/import/{job}/")
    assert mapping.status_code == 200
    # The header's words are recognised: Phone is the number, First name the name, City an extra.
    assert re.search(r'<option value="msisdn" selected>', mapping.text)
    assert re.search(r'<option value="name" selected>', mapping.text)
    assert re.search(r'<option value="city" selected>\s*Extra: city', mapping.text)
    assert "+27830000000" in mapping.text  # a sample value

    started = await browser.post(
        f"/contacts/import/{job}/start",
        {
            "has_header": "1",
            "column-0": "msisdn",
            "normalize-0": "msisdn",
            "column-1": "name",
            "normalize-1": "string",
            "column-2": "extras-town",
            "normalize-2": "string",
            "rule": "new",
            "group": "new",
            "new_group": "Imported",
        },
    )
    assert started.status_code == 303 and started.headers["location"] == f"/contacts/import/{job}/"
    await runner_for(browser.platform).wait(job)
    page = await browser.get(f"/contacts/import/{job}/")
    assert page.status_code == 200
    assert 'id="import-progress" max="100" value="100"' in page.text
    assert '<strong id="import-created">30</strong>' in page.text
    assert '<strong id="group-members">30</strong>' in page.text
    assert "hx-trigger" not in page.text.split('id="import-status"')[1].split(">")[0]
    fragment = await browser.get(f"/contacts/import/{job}/progress")
    assert (
        fragment.status_code == 200
        and "<html" not in fragment.text
        and 'value="100"' in fragment.text
    )
    async with browser.db.sessions() as session:
        made = (await session.scalars(select(Contact))).all()
        stored = await session.get(ContactImport, job)
        # The file is dropped once the import is over.
        content = await session.scalar(
            select(ContactImport.content).where(ContactImport.key == job)
        )
    assert len(made) == 30 and {c.extra["town"] for c in made} == {"CPT"}
    assert stored is not None and stored.status == "done" and content is None
    # The list of recent imports shows it; starting it again is refused.
    assert "people.csv" in (await browser.get("/contacts/import/")).text
    again = await browser.post(f"/contacts/import/{job}/start", {"column-0": "msisdn"})
    assert again.status_code == 409
    # Deleting the group later leaves the import's record readable.
    assert stored.group_key is not None
    assert (await browser.post(f"/contacts/groups/{stored.group_key}/delete")).status_code == 303
    after = await browser.get(f"/contacts/import/{job}/")
    assert after.status_code == 200 and '<strong id="import-created">30</strong>' in after.text


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SPREADSHEET_ROWS: list[list[object]] = [
    ["Phone", "Name", "City"],
    [821234567.0, "Thandi", "CPT"],
    [27821234568.0, "Sipho", "JHB"],
    ["+27 82 123 4569", "Lerato", None],
    ["0821234570", "Bongani", "DBN"],
]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("contacts.xls", (Path(__file__).parents[1] / "contacts/data/contacts.xls").read_bytes()),
        ("contacts.xlsx", xlsx_bytes(SPREADSHEET_ROWS)),
    ],
)
async def test_spreadsheets_import_like_csv(browser: Browser, name: str, content: bytes) -> None:
    uploaded = await upload(browser, name, content)
    assert uploaded.status_code == 303
    job = location_key(uploaded, r"/contacts/import/(\w+)/")
    mapping = await browser.get(f"/contacts/import/{job}/")
    assert re.search(r'<option value="msisdn" selected>', mapping.text)
    assert "821234567" in mapping.text and "Thandi" in mapping.text
    started = await browser.post(
        f"/contacts/import/{job}/start",
        {
            "has_header": "1",
            "column-0": "msisdn",
            "normalize-0": "msisdn",
            "column-1": "name",
            "column-2": "city",
            "country": "za",
        },
    )
    assert started.status_code == 303
    await runner_for(browser.platform).wait(job)
    assert (
        '<strong id="import-created">4</strong>'
        in (await browser.get(f"/contacts/import/{job}/")).text
    )
    async with browser.db.sessions() as session:
        numbers = sorted((await session.scalars(select(Contact.msisdn))).all())
    assert numbers == ["+27821234567", "+27821234568", "+27821234569", "+27821234570"]


async def test_a_typed_group_name_makes_that_group(browser: Browser) -> None:
    rows = [["msisdn"], ["+27821111111"], ["+27822222222"]]
    job = location_key(await upload(browser, "a.csv", csv_bytes(rows)), r"/contacts/import/(\w+)/")
    unstarted = await browser.get(f"/contacts/import/{job}/progress")
    assert unstarted.status_code == 409 and "not been started" in unstarted.text
    started = await browser.post(
        f"/contacts/import/{job}/start",
        {"column-0": "msisdn", "has_header": "1", "group": "", "new_group": "Typed"},
    )
    assert started.status_code == 303
    await runner_for(browser.platform).wait(job)
    async with browser.db.sessions() as session:
        [group] = await group_service.groups_named(session, browser.account, "Typed")
        members = await group_service.count_group_contacts(session, browser.account, group.key)
    assert members == 2


async def test_import_with_bad_rows_saves_nothing_and_says_why(browser: Browser) -> None:
    rows = [["msisdn", "name"], ["+27821111111", "Good"], ["not a number", "Bad"], ["", "Blank"]]
    job = location_key(
        await upload(browser, "mixed.csv", csv_bytes(rows)), r"/contacts/import/(\w+)/"
    )
    team = await make_group(browser, "Team")
    started = await browser.post(
        f"/contacts/import/{job}/start",
        {
            "has_header": "1",
            "column-0": "msisdn",
            "normalize-0": "msisdn",
            "column-1": "name",
            "group": team,
            "rule": "new",
        },
    )
    assert started.status_code == 303
    await runner_for(browser.platform).wait(job)
    page = await browser.get(f"/contacts/import/{job}/")
    assert "Nothing was saved" in page.text
    assert "Invalid MSISDN: not a number" in page.text and "Missing Contact Number." in page.text
    assert '<strong id="import-failed">2</strong>' in page.text
    assert '<strong id="group-members">0</strong>' in page.text
    async with browser.db.sessions() as session:
        assert (await session.scalars(select(Contact))).all() == []


async def test_import_updates_by_key(browser: Browser) -> None:
    keys = await make_contacts(browser, 2)
    rows = [["key", "surname"], [keys[0], "Mokoena"], ["f" * 32, "Nobody"]]
    job = location_key(
        await upload(browser, "update.csv", csv_bytes(rows)), r"/contacts/import/(\w+)/"
    )
    started = await browser.post(
        f"/contacts/import/{job}/start",
        {"has_header": "1", "column-0": "key", "column-1": "surname", "rule": "upload_is_truth"},
    )
    assert started.status_code == 303
    await runner_for(browser.platform).wait(job)
    page = await browser.get(f"/contacts/import/{job}/")
    assert '<strong id="import-updated">1</strong>' in page.text
    assert f"No contact with key &#39;{'f' * 32}&#39;." in page.text
    async with browser.db.sessions() as session:
        contact = await session.get(Contact, keys[0])
        assert contact is not None and contact.surname == "Mokoena"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("contacts.pdf", b"%PDF-1.4", "No parser available for type pdf"),
        ("contacts", b"msisdn\n+27821234567\n", "No parser available for type (none)"),
        ("contacts.csv", b"", "The file is empty."),
        ("contacts.csv", b"\n\n\n", "The file has no rows."),
        ("contacts.xlsx", b"this is not a spreadsheet", "Could not read the file as XLSX"),
        ("contacts.xls", b"\x00\x01\x02 nor is this", "Could not read the file as XLS"),
        ("wide.csv", (",".join(["x"] * 101) + "\n").encode(), "at most 100 can be mapped"),
    ],
)
async def test_bad_uploads_are_400_pages(
    browser: Browser, name: str, content: bytes, message: str
) -> None:
    response = await upload(browser, name, content)
    assert response.status_code == 400
    assert message in response.text.replace("&#39;", "'") and "<html" in response.text


async def test_nul_characters_in_an_upload_are_not_kept(browser: Browser) -> None:
    uploaded = await upload(browser, "nul\x00.csv", b"msisdn,na\x00me\n+2782\x00,A\n")
    assert uploaded.status_code == 303
    job = location_key(uploaded, r"/contacts/import/(\w+)/")
    mapping = await browser.get(f"/contacts/import/{job}/")
    assert mapping.status_code == 200 and "\x00" not in mapping.text
    assert "+2782" in mapping.text and ">na" in mapping.text.replace("<strong>", ">")
    started = await browser.post(
        f"/contacts/import/{job}/start", {"column-0": "msisdn", "has_header": "1"}
    )
    assert started.status_code == 303
    await runner_for(browser.platform).wait(job)
    page = await browser.get(f"/contacts/import/{job}/")
    assert "NUL character" in page.text and "Nothing was saved" in page.text


async def test_upload_without_a_file_or_too_big(
    browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    nothing = await browser.post("/contacts/import/")
    assert nothing.status_code == 400 and "Choose a CSV, XLS or XLSX file" in nothing.text
    monkeypatch.setattr(contacts_import, "MAX_BODY", 2000)
    big = await upload(browser, "big.csv", b"msisdn\n" + b"+27821234567\n" * 1000)
    assert big.status_code == 400 and "The file is too big" in big.text
    # A body that says it is huge is refused before any of it is read.
    monkeypatch.setattr(contacts_import, "MAX_BODY", 10**6)
    claimed = await browser.client.post(
        "/contacts/import/",
        content=b"--b--",
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": "2000000"},
    )
    assert claimed.status_code == 400 and "The file is too big" in claimed.text


async def test_mapping_mistakes_show_the_mapping_again(browser: Browser) -> None:
    rows = [["msisdn", "name"], ["+27821111111", "A"]]
    job = location_key(await upload(browser, "a.csv", csv_bytes(rows)), r"/contacts/import/(\w+)/")
    cases = [
        ({"column-0": "", "column-1": "name"}, "Please specify a Contact Number field."),
        ({"column-0": "msisdn", "column-1": "msisdn"}, "More than one column is mapped"),
        ({"column-0": "msisdn", "column-1": "key"}, "only for the update rules"),
        ({"column-0": "msisdn", "rule": "upload_is_truth"}, "Please specify a Contact Key field."),
        ({"column-0": "msisdn", "normalize-0": "rot13"}, "unknown way to read values"),
        ({"column-0": "msisdn", "rule": "everything"}, "Unknown import rule"),
        ({"column-0": "msisdn", "country": "XX"}, "Unknown country"),
        ({"column-0": "msisdn", "group": "new"}, "Give the new group a name."),
        ({"column-0": "msisdn", "group": "f" * 32}, "not found"),
        ({"column-0": "msisdn", "column-1": "x" * 301}, "at most 300 characters"),
    ]
    for data, message in cases:
        response = await browser.post(f"/contacts/import/{job}/start", data)
        assert response.status_code in (400, 404), data
        assert message in response.text.replace("&#39;", "'"), data
        if response.status_code == 400 and "at most 300" not in message:
            assert "What is in each column?" in response.text  # the mapping page again
    async with browser.db.sessions() as session:
        stored = await session.get(ContactImport, job)
        assert stored is not None and stored.status == "uploaded"
        # No group was left behind by the failed attempts.
        assert (await group_service.list_groups(session, browser.account)) == []


async def test_one_import_at_a_time_and_an_interrupted_one(browser: Browser) -> None:
    rows = [["msisdn"], ["+27821111111"]]
    first = location_key(
        await upload(browser, "a.csv", csv_bytes(rows)), r"/contacts/import/(\w+)/"
    )
    second = location_key(
        await upload(browser, "b.csv", csv_bytes(rows)), r"/contacts/import/(\w+)/"
    )
    # A job another process left running (its row says so, nothing here runs it) and fresh.
    async with browser.db.transaction() as session:
        await session.execute(
            update(ContactImport)
            .where(ContactImport.key == first)
            .values(status="running", updated_at=utcnow() - timedelta(seconds=5))
        )
    page = await browser.get(f"/contacts/import/{first}/")
    if browser.db.dialect == "sqlite":
        # One process serves SQLite: a job not running here was interrupted.
        assert "interrupted" in page.text
        started = await browser.post(f"/contacts/import/{second}/start", {"column-0": "msisdn"})
        assert started.status_code == 303
        await runner_for(browser.platform).wait(second)
    else:
        assert "Importing" in page.text
        busy = await browser.post(f"/contacts/import/{second}/start", {"column-0": "msisdn"})
        assert busy.status_code == 409 and "Another import is running" in busy.text


# -- scoping and CSRF --------------------------------------------------------------------------


async def test_another_accounts_keys_are_not_found(browser: Browser, other: Browser) -> None:
    [key] = await make_contacts(browser, 1)
    group = await make_group(browser, "Alice's")
    job = location_key(
        await upload(browser, "a.csv", csv_bytes([["msisdn"], ["+27821111111"]])),
        r"/contacts/import/(\w+)/",
    )
    for path in (
        f"/contacts/people/{key}/",
        f"/contacts/people/{key}/edit",
        f"/contacts/groups/{group}/",
        f"/contacts/groups/{group}/count",
        f"/contacts/groups/{group}/export.csv",
        f"/contacts/import/{job}/",
        f"/contacts/import/{job}/progress",
    ):
        response = await other.get(path)
        assert response.status_code == 404, path
        assert "Alice" not in response.text and "+2782" not in response.text
    posts = {
        f"/contacts/people/{key}/edit": {"name": "x"},
        f"/contacts/people/{key}/delete": {},
        f"/contacts/people/{key}/groups": {"group": group, "action": "add"},
        f"/contacts/groups/{group}/edit": {"name": "x"},
        f"/contacts/groups/{group}/delete": {},
        f"/contacts/import/{job}/start": {"column-0": "msisdn"},
        "/contacts/bulk": {"contact": [key], "group": group, "action": "remove"},
    }
    for path, data in posts.items():
        assert (await other.post(path, data)).status_code == 404, path
    # Bob's own group cannot take Alice's contact.
    mine = await make_group(other, "Bob's")
    taken = await other.post("/contacts/bulk", {"contact": [key], "group": mine, "action": "add"})
    assert taken.status_code == 400
    # Nothing of Alice's shows in Bob's lists, searches or exports.
    searched = await other.get("/contacts/?q=Person000")
    assert "No contacts match." in searched.text and key not in searched.text
    assert "Alice" not in (await other.get("/contacts/groups/")).text
    assert "Person000" not in (await other.get("/contacts/export.csv")).text
    assert "a.csv" not in (await other.get("/contacts/import/")).text
    async with browser.db.sessions() as session:
        assert await session.get(Contact, key) is not None


async def test_forms_need_the_csrf_token(browser: Browser) -> None:
    [key] = await make_contacts(browser, 1)
    group = await make_group(browser, "Team")
    for path in (
        "/contacts/people/new",
        f"/contacts/people/{key}/edit",
        f"/contacts/people/{key}/delete",
        "/contacts/groups/new",
        f"/contacts/groups/{group}/delete",
        "/contacts/bulk",
    ):
        response = await browser.client.post(path, data={"name": "x"})
        assert response.status_code == 403, path
        assert "This form has expired" in response.text
    no_token = await browser.client.post(
        "/contacts/import/", files={"file": ("a.csv", b"msisdn\n+27821111111\n", "text/csv")}
    )
    assert no_token.status_code == 403
    async with browser.db.sessions() as session:
        assert await session.get(Contact, key) is not None


async def test_pages_need_sign_in(new_browser: object) -> None:
    anonymous = await new_browser()  # type: ignore[operator]
    for path in ("/contacts/", "/contacts/groups/", "/contacts/import/", "/contacts/people/new"):
        response = await anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/signin")
