"""The dialogue's state machine: given where a contact is and what they said, what happens.

Pure functions over a ``Poll``: no database, no messages. ``start`` enters the start state and
``answer`` takes the contact's input at their current state; both walk through the states that
need no input (group, send, httpjson) until one asks a question or the dialogue ends, and say
in a ``Step`` what to reply, where the contact now is, and what to store or do on the way.

Choices are answered by number, or by label when the poll accepts labels; anything else asks
the question again. A free-text answer must not be blank.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vumigo.apps.dialogue.poll import Choice, Poll, State

# A poll whose non-interactive states loop forever must not hang a worker.
MAX_STEPS = 50


@dataclass
class Step:
    text: str | None = None  # what to reply; None with ``close`` ends without a word
    close: bool = False  # the dialogue ended (a USSD session is closed)
    state: str | None = None  # where the contact is now
    finished: bool = False
    answers: list[tuple[str, str]] = field(default_factory=list)  # (store_as, value), in order
    groups: list[str] = field(default_factory=list)
    sends: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, text)
    calls: list[State] = field(default_factory=list)  # httpjson states passed


def question(state: State) -> str:
    if state.type == "choice":
        lines = [state.text, *(f"{n}. {c.label}" for n, c in enumerate(state.choices, 1))]
        return "\n".join(lines)
    return state.text


def enter(poll: Poll, uuid: str | None, step: Step | None = None) -> Step:
    """Enters a state, running through the ones that need no input."""
    step = step or Step()
    for _ in range(MAX_STEPS):
        state = poll.states.get(uuid) if uuid is not None else None
        if state is None:
            # The poll stops here without an end state: finish quietly.
            step.state, step.finished, step.close = None, True, True
            return step
        if state.interactive:
            step.text, step.state = question(state), state.uuid
            return step
        if state.type == "end":
            step.text, step.state, step.finished, step.close = state.text, state.uuid, True, True
            return step
        if state.type == "group" and state.group_key:
            step.groups.append(state.group_key)
        elif state.type == "send":
            endpoint = poll.channels.get(state.channel_type or "", state.channel_type or "default")
            step.sends.append((endpoint, state.text))
        elif state.type == "httpjson":
            step.calls.append(state)
        uuid = poll.after(state.exit_endpoint)
    step.state, step.finished, step.close = None, True, True
    return step


def start(poll: Poll) -> Step:
    return enter(poll, poll.start)


def match_choice(poll: Poll, state: State, content: str | None) -> Choice | None:
    text = (content or "").strip()
    if text.isdigit() and 1 <= int(text) <= len(state.choices):
        return state.choices[int(text) - 1]
    if poll.accept_labels and text:
        for choice in state.choices:
            if choice.label.strip().lower() == text.lower():
                return choice
    return None


def answer(poll: Poll, uuid: str | None, content: str | None) -> Step:
    """The contact at state ``uuid`` said ``content``."""
    state = poll.states.get(uuid) if uuid is not None else None
    if state is None or not state.interactive:
        return start(poll)  # the poll changed under them, or they were not in a question
    if state.type == "choice":
        choice = match_choice(poll, state, content)
        if choice is None:
            return Step(text=question(state), state=state.uuid)
        step = Step(answers=[(state.store_as, choice.value)] if state.store_as else [])
        return enter(poll, poll.after(choice.endpoint), step)
    text = (content or "").strip()
    if not text:
        return Step(text=question(state), state=state.uuid)
    step = Step(answers=[(state.store_as, text)] if state.store_as else [])
    return enter(poll, poll.after(state.exit_endpoint), step)


def again(poll: Poll, uuid: str | None) -> Step:
    """A contact back at their current state (a new USSD session): ask its question again."""
    state = poll.states.get(uuid) if uuid is not None else None
    if state is None or not state.interactive:
        return start(poll)
    return Step(text=question(state), state=state.uuid)


def finished_again(poll: Poll, uuid: str | None) -> Step:
    """A contact who finished a poll that cannot be repeated: the end, once more."""
    state = poll.states.get(uuid) if uuid is not None else None
    text = state.text if state is not None and state.type == "end" else None
    return Step(text=text, state=uuid, finished=True, close=True)
