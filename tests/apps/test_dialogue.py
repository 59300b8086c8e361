"""The dialogue's poll reader and state machine, table-driven, without a database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from vumigo.apps.contact_updates import with_answer
from vumigo.apps.dialogue.machine import again, answer, finished_again, start
from vumigo.apps.dialogue.poll import PollError, parse_poll


def state(uuid: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "name": uuid,
        "type": kind,
        "entry_endpoint": {"uuid": f"{uuid}-in"},
        **fields,
    }


def link(source: str, target: str) -> dict[str, Any]:
    return {"source": {"uuid": source}, "target": {"uuid": f"{target}-in"}}


POLL: dict[str, Any] = {
    "start_state": {"uuid": "join"},
    "accept_labels": True,
    "channel_types": [{"name": "sms", "label": "SMS"}],
    "states": [
        state("join", "group", group={"key": "g1"}, exit_endpoint={"uuid": "join-out"}),
        state(
            "size",
            "choice",
            text="Household size?",
            store_as="size",
            choice_endpoints=[
                {"value": "small", "label": "1-2", "uuid": "size-small"},
                {"value": "large", "label": "Three or more", "uuid": "size-large"},
            ],
        ),
        state("why", "freetext", text="Why?", store_as="why", exit_endpoint={"uuid": "why-out"}),
        state(
            "sms",
            "send",
            text="Thanks, details by SMS",
            channel_type="sms",
            exit_endpoint={"uuid": "sms-out"},
        ),
        state(
            "hook",
            "httpjson",
            url="https://example.org/hook",
            method="post",
            exit_endpoint={"uuid": "hook-out"},
        ),
        state("end", "end", text="Done"),
    ],
    "connections": [
        link("join-out", "size"),
        link("size-small", "end"),
        link("size-large", "why"),
        link("why-out", "sms"),
        link("sms-out", "hook"),
        link("hook-out", "end"),
    ],
}


def test_start_runs_through_group_state_to_first_question() -> None:
    step = start(parse_poll(POLL))
    assert step.text == "Household size?\n1. 1-2\n2. Three or more"
    assert (step.state, step.groups, step.close) == ("size", ["g1"], False)


@pytest.mark.parametrize(
    ("at", "said", "text", "now_at", "answers", "close"),
    [
        ("size", "1", "Done", "end", [("size", "small")], True),
        ("size", "three or more", "Why?", "why", [("size", "large")], False),
        ("size", "3", "Household size?\n1. 1-2\n2. Three or more", "size", [], False),
        ("size", "", "Household size?\n1. 1-2\n2. Three or more", "size", [], False),
        ("why", "  ", "Why?", "why", [], False),
        ("why", "Big family", "Done", "end", [("why", "Big family")], True),
        ("gone", "1", "Household size?\n1. 1-2\n2. Three or more", "size", [], False),
    ],
)
def test_answers(
    at: str, said: str, text: str, now_at: str, answers: list[tuple[str, str]], close: bool
) -> None:
    step = answer(parse_poll(POLL), at, said)
    assert (step.text, step.state, step.answers, step.close) == (text, now_at, answers, close)


def test_free_text_answer_passes_send_and_httpjson_states() -> None:
    step = answer(parse_poll(POLL), "why", "Big family")
    assert step.sends == [("SMS", "Thanks, details by SMS")]
    assert [(s.url, s.method) for s in step.calls] == [("https://example.org/hook", "POST")]
    assert step.finished


def test_labels_refused_when_poll_says_so() -> None:
    poll = parse_poll({**POLL, "accept_labels": False})
    assert answer(poll, "size", "1-2").state == "size"


def test_again_and_finished_again() -> None:
    poll = parse_poll(POLL)
    assert again(poll, "why").text == "Why?"
    assert again(poll, None).state == "size"
    end = finished_again(poll, "end")
    assert (end.text, end.close, end.finished) == ("Done", True, True)


def test_a_loop_of_silent_states_ends_instead_of_hanging() -> None:
    loop = {
        "start_state": {"uuid": "a"},
        "states": [
            state("a", "group", group={"key": "g"}, exit_endpoint={"uuid": "a-out"}),
            state("b", "group", group={"key": "g"}, exit_endpoint={"uuid": "b-out"}),
        ],
        "connections": [link("a-out", "b"), link("b-out", "a")],
    }
    step = start(parse_poll(loop))
    assert step.finished and step.close and step.text is None


def broken(change: Any) -> dict[str, Any]:
    poll = copy.deepcopy(POLL)
    change(poll)
    return poll


@pytest.mark.parametrize(
    ("poll", "message"),
    [
        ([], "must be a JSON object"),
        (broken(lambda p: p["states"][1].update(type="quiz")), "unknown type 'quiz'"),
        (broken(lambda p: p["states"][1].update(choice_endpoints=[])), "needs choice_endpoints"),
        (broken(lambda p: p["states"][2].update(text="")), "needs text"),
        (broken(lambda p: p["states"][4].update(url="ftp://x")), "http:// or https://"),
        (broken(lambda p: p["states"][4].update(method="DELETE")), "method must be"),
        (broken(lambda p: p.update(start_state={"uuid": "nope"})), "not one of the states"),
        (broken(lambda p: p.pop("start_state")), "start_state is missing"),
        (broken(lambda p: p["connections"].append(link("x", "nowhere"))), "leads to no state"),
        (broken(lambda p: p["states"].append(state("end", "end"))), "two states"),
    ],
)
def test_parse_poll_refuses_broken_polls(poll: Any, message: str) -> None:
    with pytest.raises(PollError, match=message):
        parse_poll(poll)


def test_answers_are_numbered_per_repeat() -> None:
    extra = with_answer("size", "small")({"other": "x"})
    extra = with_answer("size", "large")(extra)
    assert extra == {"other": "x", "size": "large", "size-1": "small", "size-2": "large"}
