"""A dialogue's poll as the form editor shows it, and the form read back into poll JSON.

The editor shows each state as a card (its text, where it stores the answer, and for each exit
the state it leads to) instead of the poll's endpoints and connections. ``view`` turns a poll
into those cards, tolerating any JSON (a poll typed by hand may be half-made), and
``poll_from_form`` builds the poll JSON back: states keep the fields the editor does not show,
endpoint uuids are kept (or made for new states and choices), and the connections are rebuilt
from the "goes to" choices. Whether the result can run is for ``parse_poll`` to say.
"""

from __future__ import annotations

import re
import uuid as uuids
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from vumigo.apps.dialogue.poll import HTTP_METHODS, STATE_TYPES
from vumigo.errors import InvalidInput
from vumigo.web import forms
from vumigo.web.panels import numbered_rows, rows

TYPE_LABELS = {
    "choice": "Multiple choice question",
    "freetext": "Open question",
    "end": "End",
    "group": "Add to a group",
    "send": "Send a message",
    "httpjson": "Tell another system",
}
# What a new state starts with, so it can be saved at once and then edited.
NEW_STATE: dict[str, dict[str, Any]] = {
    "choice": {"name": "New question", "text": "New question", "store_as": ""},
    "freetext": {"name": "New question", "text": "New question", "store_as": ""},
    "end": {"name": "End", "text": "Thank you!"},
    "group": {"name": "Add to group", "group": {"key": None}},
    "send": {"name": "Send", "text": "New message", "channel_type": ""},
    "httpjson": {"name": "Tell another system", "url": "", "method": "POST"},
}
NEW_CHOICES = ("Yes", "No")
_UUID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def new_uuid() -> str:
    return str(uuids.uuid4())


def _uuid_of(value: Any) -> str:
    found = value.get("uuid") if isinstance(value, Mapping) else None
    return found if isinstance(found, str) else ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


@dataclass
class ChoiceView:
    uuid: str
    label: str
    value: str
    next: str


@dataclass
class StateView:
    uuid: str
    name: str
    type: str
    text: str = ""
    store_as: str = ""
    next: str = ""
    group: str = ""
    channel_type: str = ""
    url: str = ""
    method: str = "POST"
    choices: list[ChoiceView] = field(default_factory=list)

    @property
    def label(self) -> str:
        return TYPE_LABELS.get(self.type, self.type)


@dataclass
class PollView:
    states: list[StateView]
    start: str
    repeatable: bool
    accept_labels: bool
    delivery_class: str
    channels: list[str]

    def name_of(self, state_uuid: str) -> str:
        for state in self.states:
            if state.uuid == state_uuid:
                return state.name
        return ""


def view(poll: Any) -> PollView:
    """The editor's picture of any poll JSON (bad parts are shown empty, not refused)."""
    data = poll if isinstance(poll, Mapping) else {}
    raw_states = [s for s in data.get("states") or [] if isinstance(s, Mapping)]
    entries = {_uuid_of(s.get("entry_endpoint")): _uuid_of(s) for s in raw_states}
    links: dict[str, str] = {}
    for connection in data.get("connections") or []:
        if isinstance(connection, Mapping):
            links[_uuid_of(connection.get("source"))] = _uuid_of(connection.get("target"))

    def after(exit_uuid: str) -> str:
        return entries.get(links.get(exit_uuid, ""), "") if exit_uuid else ""

    states = []
    for raw in raw_states:
        group = raw.get("group")
        choices = [
            ChoiceView(
                _uuid_of(c), _text(c.get("label")), _text(c.get("value")), after(_uuid_of(c))
            )
            for c in raw.get("choice_endpoints") or []
            if isinstance(c, Mapping)
        ]
        states.append(
            StateView(
                uuid=_uuid_of(raw),
                name=_text(raw.get("name")) or _uuid_of(raw),
                type=_text(raw.get("type")),
                text=_text(raw.get("text")),
                store_as=_text(raw.get("store_as")),
                next=after(_uuid_of(raw.get("exit_endpoint"))),
                group=_text(group.get("key")) if isinstance(group, Mapping) else "",
                channel_type=_text(raw.get("channel_type")),
                url=_text(raw.get("url")),
                method=_text(raw.get("method")).upper() or "POST",
                choices=choices,
            )
        )
    metadata = data.get("poll_metadata") if isinstance(data.get("poll_metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    return PollView(
        states=states,
        start=_uuid_of(data.get("start_state")),
        repeatable=bool(metadata.get("repeatable", False)),
        accept_labels=bool(data.get("accept_labels", True)),
        delivery_class=_text(metadata.get("delivery_class")) or "sms",
        channels=channel_names(data),
    )


def channel_names(poll: Mapping[str, Any]) -> list[str]:
    return [
        _text(c.get("name"))
        for c in poll.get("channel_types") or []
        if isinstance(c, Mapping) and c.get("name")
    ]


def endpoints_of(poll: Mapping[str, Any]) -> list[str]:
    """The conversation endpoints a poll's send states use (a channel type's label)."""
    return [
        _text(c.get("label") or c.get("name"))
        for c in poll.get("channel_types") or []
        if isinstance(c, Mapping) and c.get("name")
    ]


def _kept_uuid(value: str | None) -> str:
    """A uuid from the form if it looks like one, else a new one (the form is not trusted)."""
    return value if value and _UUID.match(value) else new_uuid()


def _endpoint(state: dict[str, Any], key: str) -> str:
    found = _uuid_of(state.get(key))
    if not found or not _UUID.match(found):
        found = new_uuid()
    state[key] = {"uuid": found}
    return found


def poll_from_form(form: FormData, saved: Mapping[str, Any]) -> dict[str, Any]:
    """The poll the form describes (not yet checked); ``saved`` supplies what it does not show.

    ``add`` (a state type) appends a new state; a state's or choice's ``remove`` drops it.
    """
    old = {
        _uuid_of(s): dict(s)
        for s in saved.get("states") or []
        if isinstance(s, Mapping) and _uuid_of(s)
    }
    states: list[dict[str, Any]] = []
    exits: list[tuple[str, str]] = []  # (exit endpoint uuid, state uuid it goes to)
    for index, row in numbered_rows(form, "state"):
        if row.get("remove"):
            continue
        kind = row.get("type", "")
        if kind not in STATE_TYPES:
            raise InvalidInput(f"State {index + 1} has an unknown type {kind!r}.")
        state_uuid = _kept_uuid(row.get("uuid"))
        state = dict(old.get(state_uuid, {})) if old.get(state_uuid, {}).get("type") == kind else {}
        state.update(uuid=state_uuid, type=kind, name=row.get("name") or TYPE_LABELS[kind])
        _endpoint(state, "entry_endpoint")
        if kind in ("choice", "freetext", "send", "end"):
            state["text"] = row.get("text", "")
        if kind in ("choice", "freetext"):
            state["store_as"] = row.get("store_as", "")
        if kind == "choice":
            state["choice_endpoints"] = _choices(form, index, exits)
        elif kind != "end":
            exits.append((_endpoint(state, "exit_endpoint"), row.get("next", "")))
        if kind == "group":
            state["group"] = {"key": row.get("group") or None}
        elif kind == "send":
            state["channel_type"] = row.get("channel_type", "")
        elif kind == "httpjson":
            state["url"] = row.get("url", "")
            method = row.get("method", "POST").upper()
            state["method"] = method if method in HTTP_METHODS else "POST"
        states.append(state)
    added = forms.text(form, "add", max_length=16)
    if added:
        if added not in NEW_STATE:
            raise InvalidInput(f"There is no kind of state called {added!r}.")
        states.append(new_state(added))
    return _assemble(form, saved, states, exits)


def _choices(form: FormData, index: int, exits: list[tuple[str, str]]) -> list[dict[str, Any]]:
    choices = []
    for row in rows(form, f"choices_{index}"):
        if row.get("remove") or not row.get("label"):
            continue
        choice_uuid = _kept_uuid(row.get("uuid"))
        choices.append(
            {"uuid": choice_uuid, "label": row["label"], "value": row.get("value") or row["label"]}
        )
        exits.append((choice_uuid, row.get("next", "")))
    return choices


def new_state(kind: str) -> dict[str, Any]:
    state: dict[str, Any] = {
        "uuid": new_uuid(),
        "type": kind,
        "entry_endpoint": {"uuid": new_uuid()},
        **{k: (dict(v) if isinstance(v, dict) else v) for k, v in NEW_STATE[kind].items()},
    }
    if kind == "choice":
        state["choice_endpoints"] = [
            # No value yet: the first save stores the label the person gives it.
            {"uuid": new_uuid(), "label": label, "value": ""}
            for label in NEW_CHOICES
        ]
    elif kind != "end":
        state["exit_endpoint"] = {"uuid": new_uuid()}
    return state


def _assemble(
    form: FormData,
    saved: Mapping[str, Any],
    states: list[dict[str, Any]],
    exits: list[tuple[str, str]],
) -> dict[str, Any]:
    entry_of = {s["uuid"]: s["entry_endpoint"]["uuid"] for s in states}
    connections = [
        {"source": {"uuid": exit_uuid}, "target": {"uuid": entry_of[target]}}
        for exit_uuid, target in exits
        if target in entry_of
    ]
    start = forms.text(form, "start", max_length=64)
    if start not in entry_of:
        start = states[0]["uuid"] if states else ""
    channels = [
        {"name": name, "label": name}
        for name in dict.fromkeys(forms.name_list(forms.text(form, "channels", max_length=2000)))
    ]
    kept = {
        str(c.get("name")): dict(c)
        for c in saved.get("channel_types") or []
        if isinstance(c, Mapping) and c.get("name")
    }
    metadata = (
        dict(saved.get("poll_metadata") or {})
        if isinstance(saved.get("poll_metadata"), Mapping)
        else {}
    )
    metadata.update(
        repeatable=forms.text(form, "repeatable") == "1",
        delivery_class=forms.text(form, "delivery_class", max_length=32) or "sms",
    )
    poll = {key: value for key, value in saved.items() if key not in _REBUILT}
    poll.update(
        start_state={"uuid": start} if start else None,
        poll_metadata=metadata,
        accept_labels=forms.text(form, "accept_labels") == "1",
        channel_types=[kept.get(c["name"], c) for c in channels],
        states=states,
        connections=connections,
    )
    if not start:
        poll.pop("start_state")
    return poll


_REBUILT = frozenset(
    ("start_state", "poll_metadata", "accept_labels", "channel_types", "states", "connections")
)


def group_keys(poll: Mapping[str, Any]) -> list[str]:
    """The group keys a poll's group states name (each must be one of the account's)."""
    found = []
    for state in poll.get("states") or []:
        group = state.get("group") if isinstance(state, Mapping) else None
        key = group.get("key") if isinstance(group, Mapping) else None
        if isinstance(key, str) and key:
            found.append(key)
    return found
