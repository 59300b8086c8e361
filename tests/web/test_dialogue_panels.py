"""The dialogue editor: the poll as a form and back, adding and removing states, the JSON view,
clear 400s for polls that cannot run, and scoping."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.web.helpers import Browser
from vumigo.apps.dialogue.editing import get_poll
from vumigo.apps.dialogue.machine import answer, start
from vumigo.apps.dialogue.poll import parse_poll
from vumigo.contacts import create_group
from vumigo.conversations.service import create_conversation, get_conversation
from vumigo.web.dialogue_form import view


def _state(uuid: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "name": uuid,
        "type": kind,
        "entry_endpoint": {"uuid": f"{uuid}-in"},
        **fields,
    }


POLL: dict[str, Any] = {
    "start_state": {"uuid": "size"},
    "poll_metadata": {"repeatable": False, "delivery_class": "ussd", "kept": "yes"},
    "accept_labels": True,
    "states": [
        _state(
            "size",
            "choice",
            text="Household size?",
            store_as="size",
            layout={"x": 10},  # a field the form does not show: kept
            choice_endpoints=[
                {"value": "small", "label": "1-2", "uuid": "size-small"},
                {"value": "large", "label": "3+", "uuid": "size-large"},
            ],
        ),
        _state("why", "freetext", text="Why?", store_as="why", exit_endpoint={"uuid": "why-out"}),
        _state("end", "end", text="Thanks"),
    ],
    "connections": [
        {"source": {"uuid": "size-small"}, "target": {"uuid": "end-in"}},
        {"source": {"uuid": "size-large"}, "target": {"uuid": "why-in"}},
        {"source": {"uuid": "why-out"}, "target": {"uuid": "end-in"}},
    ],
}


async def _dialogue(browser: Browser, poll: dict[str, Any] | None = None) -> str:
    async with browser.db.transaction() as session:
        conv = await create_conversation(
            session,
            browser.account,
            "dialogue",
            "Survey",
            config={"poll": POLL if poll is None else poll},
        )
        return conv.key


async def _poll(browser: Browser, key: str) -> dict[str, Any]:
    async with browser.db.sessions() as session:
        return await get_poll(session, browser.account, key)


def _fields(html: str) -> dict[str, str]:
    """The editor form's fields as a browser would post them (text, hidden, selects, checks)."""
    form = html[
        html.index('id="dialogue-form"') : html.index("</form>", html.index('id="dialogue-form"'))
    ]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="submit"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        fields[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = body
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        first = re.search(r'<option value="([^"]*)"', body)
        fields[name] = chosen.group(1) if chosen else (first.group(1) if first else "")
    return {
        k: v.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
        for k, v in fields.items()
    }


async def test_panel_links_to_the_editor_which_shows_the_poll(browser: Browser) -> None:
    key = await _dialogue(browser)
    page = await browser.get(f"/conversations/{key}/")
    assert page.status_code == 200
    assert f'href="/conversations/{key}/dialogue/editor"' in page.text
    assert "Household size?" in page.text
    editor = await browser.get(f"/conversations/{key}/dialogue/editor")
    assert editor.status_code == 200
    fields = _fields(editor.text)
    assert fields["state-0-text"] == "Household size?"
    assert fields["choices_0-1-label"] == "3+"
    assert fields["choices_0-1-next"] == "why"  # the connection, shown as "goes to"
    assert fields["choices_0-0-next"] == "end"
    assert fields["state-1-next"] == "end"
    assert fields["start"] == "size"
    assert "Edit as JSON" in editor.text and "&#34;start_state&#34;" in editor.text


async def test_unchanged_form_saves_the_same_dialogue(browser: Browser) -> None:
    key = await _dialogue(browser)
    fields = _fields((await browser.get(f"/conversations/{key}/dialogue/editor")).text)
    saved = await browser.post(f"/conversations/{key}/dialogue/editor", fields)
    assert saved.status_code == 303, saved.text
    poll = await _poll(browser, key)
    assert view(poll) == view(POLL)
    assert poll["poll_metadata"]["kept"] == "yes"
    assert poll["states"][0]["layout"] == {"x": 10}


async def test_editing_texts_choices_and_connections(browser: Browser) -> None:
    key = await _dialogue(browser)
    fields = _fields((await browser.get(f"/conversations/{key}/dialogue/editor")).text)
    fields.update(
        {
            "state-0-text": "How many live with you?",
            "choices_0-0-next": "why",  # small now asks why too
            "choices_0-2-label": "None",  # a new choice
            "choices_0-2-value": "zero",
            "choices_0-2-next": "end",
            "state-1-next": "",  # why now ends the dialogue quietly
            "repeatable": "1",
        }
    )
    saved = await browser.post(f"/conversations/{key}/dialogue/editor", fields)
    assert saved.status_code == 303, saved.text
    poll = parse_poll(await _poll(browser, key))
    assert poll.repeatable
    first = start(poll)
    assert first.text == "How many live with you?\n1. 1-2\n2. 3+\n3. None"
    step = answer(poll, first.state, "1")
    assert step.text == "Why?" and step.answers == [("size", "small")]
    assert answer(poll, first.state, "3").text == "Thanks"
    done = answer(poll, "why", "crowded")
    assert done.finished and done.text is None


async def test_adding_and_removing_states(browser: Browser) -> None:
    key = await _dialogue(browser)
    fields = _fields((await browser.get(f"/conversations/{key}/dialogue/editor")).text)
    added = await browser.post(
        f"/conversations/{key}/dialogue/editor", {**fields, "add": "freetext"}
    )
    assert added.status_code == 303
    poll = await _poll(browser, key)
    new = poll["states"][-1]
    assert new["type"] == "freetext" and new["text"] == "New question"
    assert added.headers["location"].endswith(f"#state-{new['uuid']}")
    # Remove "why": the choice that led there now ends the dialogue.
    fields = _fields((await browser.get(f"/conversations/{key}/dialogue/editor")).text)
    fields["state-1-remove"] = "1"
    removed = await browser.post(f"/conversations/{key}/dialogue/editor", fields)
    assert removed.status_code == 303
    poll = await _poll(browser, key)
    assert [s["uuid"] for s in poll["states"]] == ["size", "end", new["uuid"]]
    assert all(c["target"]["uuid"] != "why-in" for c in poll["connections"])
    parsed = parse_poll(poll)
    assert answer(parsed, "size", "2").finished


async def test_building_a_dialogue_from_nothing(browser: Browser) -> None:
    key = await _dialogue(browser, {})
    editor = await browser.get(f"/conversations/{key}/dialogue/editor")
    assert "No states yet" in editor.text
    made = await browser.post(f"/conversations/{key}/dialogue/editor", {"add": "choice"})
    assert made.status_code == 303
    poll = parse_poll(await _poll(browser, key))
    assert start(poll).text == "New question\n1. Yes\n2. No"
    unknown = await browser.post(f"/conversations/{key}/dialogue/editor", {"add": "dance"})
    assert unknown.status_code == 400 and "no kind of state called" in unknown.text


async def test_a_group_state_takes_the_accounts_groups_only(
    browser: Browser, other: Browser
) -> None:
    key = await _dialogue(browser, {})
    assert (
        await browser.post(f"/conversations/{key}/dialogue/editor", {"add": "group"})
    ).status_code == 303
    async with browser.db.transaction() as session:
        mine = await create_group(session, browser.account, "Joined")
    async with other.db.transaction() as session:
        theirs = await create_group(session, other.account, "Theirs")
    fields = _fields((await browser.get(f"/conversations/{key}/dialogue/editor")).text)
    assert "Joined" in (await browser.get(f"/conversations/{key}/dialogue/editor")).text
    refused = await browser.post(
        f"/conversations/{key}/dialogue/editor", {**fields, "state-0-group": theirs.key}
    )
    assert refused.status_code == 400 and "Unknown group" in refused.text
    ok = await browser.post(
        f"/conversations/{key}/dialogue/editor", {**fields, "state-0-group": mine.key}
    )
    assert ok.status_code == 303
    assert (await _poll(browser, key))["states"][0]["group"] == {"key": mine.key}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"state-0-text": ""}, "needs text"),
        ({"choices_0-0-label": "", "choices_0-1-label": ""}, "needs choice_endpoints"),
        ({"state-0-type": "poem"}, "unknown type"),
    ],
)
async def test_a_dialogue_that_cannot_run_is_refused_with_the_reason(
    browser: Browser, changes: dict[str, str], expected: str
) -> None:
    key = await _dialogue(browser)
    fields = _fields((await browser.get(f"/conversations/{key}/dialogue/editor")).text)
    fields["state-1-text"] = "Why, really?"  # typed, kept on the page with the error
    response = await browser.post(f"/conversations/{key}/dialogue/editor", {**fields, **changes})
    assert response.status_code == 400
    assert "The dialogue was not saved" in response.text and expected in response.text
    if "type" not in str(changes):
        assert "Why, really?" in response.text
    assert await _poll(browser, key) == POLL


async def test_json_view_saves_and_explains_mistakes(browser: Browser) -> None:
    key = await _dialogue(browser)
    changed = json.loads(json.dumps(POLL))
    changed["states"][2]["text"] = "Bye"
    saved = await browser.post(f"/conversations/{key}/dialogue/json", {"poll": json.dumps(changed)})
    assert saved.status_code == 303
    assert (await _poll(browser, key))["states"][2]["text"] == "Bye"
    broken = await browser.post(f"/conversations/{key}/dialogue/json", {"poll": '{"states": ['})
    assert broken.status_code == 400
    assert "The JSON was not saved" in broken.text and "not valid JSON" in broken.text
    assert "{&#34;states&#34;: [" in broken.text  # what was typed, to fix
    assert '<details id="dialogue-json" open' in broken.text
    no_start = {**changed, "start_state": None}
    refused = await browser.post(
        f"/conversations/{key}/dialogue/json", {"poll": json.dumps(no_start)}
    )
    assert refused.status_code == 400 and "start_state is missing" in refused.text
    listed = await browser.post(f"/conversations/{key}/dialogue/json", {"poll": "[1, 2]"})
    assert listed.status_code == 400 and "must be a JSON object" in listed.text
    assert (await _poll(browser, key))["states"][2]["text"] == "Bye"


async def test_send_channels_become_endpoints(browser: Browser) -> None:
    key = await _dialogue(browser, {})
    await browser.post(f"/conversations/{key}/dialogue/editor", {"add": "send"})
    fields = _fields((await browser.get(f"/conversations/{key}/dialogue/editor")).text)
    saved = await browser.post(
        f"/conversations/{key}/dialogue/editor",
        {**fields, "channels": "followup", "state-0-channel_type": ""},
    )
    assert saved.status_code == 303
    fields = _fields((await browser.get(f"/conversations/{key}/dialogue/editor")).text)
    await browser.post(
        f"/conversations/{key}/dialogue/editor", {**fields, "state-0-channel_type": "followup"}
    )
    poll = await _poll(browser, key)
    assert poll["channel_types"] == [{"name": "followup", "label": "followup"}]
    assert poll["states"][0]["channel_type"] == "followup"
    async with browser.db.sessions() as session:
        conv = await get_conversation(session, browser.account, key)
    assert conv.extra_endpoints == ["followup"]
    await browser.post(f"/conversations/{key}/dialogue/editor", {**fields, "channels": ""})
    async with browser.db.sessions() as session:
        conv = await get_conversation(session, browser.account, key)
    assert conv.extra_endpoints == []


async def test_scoping_csrf_and_type(browser: Browser, other: Browser) -> None:
    key = await _dialogue(browser)
    assert (await other.get(f"/conversations/{key}/dialogue/editor")).status_code == 404
    for url in (f"/conversations/{key}/dialogue/editor", f"/conversations/{key}/dialogue/json"):
        stranger = await other.post(url, {"poll": "{}", "add": "end"})
        assert stranger.status_code == 404 and "Household" not in stranger.text
        forged = await browser.client.post(url, data={"poll": "{}", "add": "end"})
        assert forged.status_code == 403
    assert await _poll(browser, key) == POLL
    async with browser.db.transaction() as session:
        bulk = await create_conversation(session, browser.account, "bulk_message", "Not a survey")
    assert (await browser.get(f"/conversations/{bulk.key}/dialogue/editor")).status_code == 404
