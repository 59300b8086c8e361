"""A dialogue's poll: the survey as the UI's editor saves it (JSON), read into typed states.

``{start_state: {uuid}, poll_metadata: {repeatable, delivery_class}, accept_labels,
channel_types: [{name, label}], states: [...], connections: [{source: {uuid}, target: {uuid}}]}``

Every state has ``uuid``, ``name``, ``type`` and an ``entry_endpoint`` {uuid}. The types:

- ``choice``: ``text``, ``store_as``, ``choice_endpoints`` [{value, label, uuid}];
- ``freetext``: ``text``, ``store_as``, ``exit_endpoint``;
- ``end``: ``text`` (the dialogue ends);
- ``group``: ``group`` {key}: adds the contact to the group, then ``exit_endpoint``;
- ``send``: ``text`` and ``channel_type``: sends the text on the endpoint whose channel type
  it names, then ``exit_endpoint``;
- ``httpjson``: ``url``, ``method``: tells an outside system about the answers so far, then
  ``exit_endpoint``.

A connection joins an exit endpoint (a choice's or a state's) to another state's entry endpoint.
``parse_poll`` checks what would make the dialogue fail part way through, so a poll is refused
when it is saved rather than when someone is answering it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vumigo.errors import InvalidInput

STATE_TYPES = ("choice", "freetext", "end", "group", "send", "httpjson")
HTTP_METHODS = ("POST", "PUT", "GET")


class PollError(InvalidInput):
    """The poll JSON is not a dialogue that can run; ``str(err)`` says where."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    endpoint: str


@dataclass(frozen=True)
class State:
    uuid: str
    name: str
    type: str
    text: str = ""
    store_as: str = ""
    choices: tuple[Choice, ...] = ()
    exit_endpoint: str | None = None
    group_key: str | None = None
    channel_type: str | None = None
    url: str | None = None
    method: str = "POST"

    @property
    def interactive(self) -> bool:
        return self.type in ("choice", "freetext")


@dataclass(frozen=True)
class Poll:
    start: str | None
    repeatable: bool = False
    accept_labels: bool = True
    delivery_class: str = "sms"
    states: dict[str, State] = field(default_factory=dict)
    # exit endpoint uuid → entry endpoint uuid, and entry endpoint uuid → state uuid
    links: dict[str, str] = field(default_factory=dict)
    entries: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # channel type name → endpoint

    def after(self, endpoint: str | None) -> str | None:
        """The state an exit endpoint leads to, or None where the dialogue stops."""
        if endpoint is None:
            return None
        target = self.links.get(endpoint)
        return self.entries.get(target) if target is not None else None


def _uuid(value: Any, where: str) -> str:
    uuid = value.get("uuid") if isinstance(value, dict) else None
    if not isinstance(uuid, str) or not uuid:
        raise PollError(f"{where} needs a uuid")
    return uuid


def _text(desc: dict[str, Any], name: str, where: str, required: bool = True) -> str:
    value = desc.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise PollError(f"{where} needs {name} (text)")
    return value


def _state(desc: Any, index: int) -> tuple[State, str | None]:
    if not isinstance(desc, dict):
        raise PollError(f"state {index + 1} must be an object")
    uuid = _uuid(desc, f"state {index + 1}")
    kind = desc.get("type")
    name = str(desc.get("name") or uuid)
    where = f"state {name!r}"
    if kind not in STATE_TYPES:
        raise PollError(f"{where} has unknown type {kind!r}; known: {', '.join(STATE_TYPES)}")
    entry = (
        _uuid(desc["entry_endpoint"], f"{where} entry_endpoint")
        if desc.get("entry_endpoint")
        else None
    )
    exit_endpoint = (
        _uuid(desc["exit_endpoint"], f"{where} exit_endpoint")
        if desc.get("exit_endpoint")
        else None
    )
    base: dict[str, Any] = {"uuid": uuid, "name": name, "type": kind}
    if kind == "choice":
        raw = desc.get("choice_endpoints")
        if not isinstance(raw, list) or not raw:
            raise PollError(f"{where} needs choice_endpoints")
        choices = []
        for choice in raw:
            if not isinstance(choice, dict):
                raise PollError(f"{where} has a choice that is not an object")
            label = _text(choice, "label", f"a choice of {where}")
            value = str(choice.get("value") or label)
            choices.append(Choice(value, label, _uuid(choice, f"choice {label!r} of {where}")))
        state = State(
            **base,
            text=_text(desc, "text", where),
            store_as=str(desc.get("store_as") or ""),
            choices=tuple(choices),
        )
    elif kind == "freetext":
        state = State(
            **base,
            text=_text(desc, "text", where),
            store_as=str(desc.get("store_as") or ""),
            exit_endpoint=exit_endpoint,
        )
    elif kind == "end":
        state = State(**base, text=_text(desc, "text", where, required=False))
    elif kind == "group":
        group = desc.get("group")
        key = group.get("key") if isinstance(group, dict) else None
        state = State(**base, group_key=key or None, exit_endpoint=exit_endpoint)
    elif kind == "send":
        state = State(
            **base,
            text=_text(desc, "text", where),
            exit_endpoint=exit_endpoint,
            channel_type=str(desc.get("channel_type") or "") or None,
        )
    else:
        url = _text(desc, "url", where)
        if not url.startswith(("http://", "https://")):
            raise PollError(f"{where} url must be http:// or https://")
        method = str(desc.get("method") or "POST").upper()
        if method not in HTTP_METHODS:
            raise PollError(f"{where} method must be one of {', '.join(HTTP_METHODS)}")
        state = State(**base, url=url, method=method, exit_endpoint=exit_endpoint)
    return state, entry


def parse_poll(data: Any) -> Poll:
    if not isinstance(data, dict):
        raise PollError("the poll must be a JSON object")
    raw_states = data.get("states") or []
    if not isinstance(raw_states, list):
        raise PollError("states must be a list")
    states: dict[str, State] = {}
    entries: dict[str, str] = {}
    for index, desc in enumerate(raw_states):
        state, entry = _state(desc, index)
        if state.uuid in states:
            raise PollError(f"two states have the uuid {state.uuid!r}")
        states[state.uuid] = state
        if entry is not None:
            entries[entry] = state.uuid
    links: dict[str, str] = {}
    for connection in data.get("connections") or []:
        source = _uuid((connection or {}).get("source"), "a connection's source")
        target = _uuid((connection or {}).get("target"), "a connection's target")
        if target not in entries:
            raise PollError(f"connection {source} → {target} leads to no state")
        links[source] = target
    start = data.get("start_state")
    start_uuid = _uuid(start, "start_state") if start else None
    if start_uuid is not None and start_uuid not in states:
        raise PollError(f"start_state {start_uuid!r} is not one of the states")
    if start_uuid is None and states:
        raise PollError("start_state is missing")
    metadata = data.get("poll_metadata") or {}
    channels = {
        str(c["name"]): str(c.get("label") or c["name"])
        for c in data.get("channel_types") or []
        if isinstance(c, dict) and c.get("name")
    }
    return Poll(
        start=start_uuid,
        repeatable=bool(metadata.get("repeatable", False)),
        accept_labels=bool(data.get("accept_labels", True)),
        delivery_class=str(metadata.get("delivery_class") or "sms"),
        states=states,
        links=links,
        entries=entries,
        channels=channels,
    )
