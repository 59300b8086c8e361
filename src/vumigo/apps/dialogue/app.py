"""``dialogue``: surveys built in the UI's editor, run over USSD sessions and SMS conversations.

The poll is ``config.poll`` (see ``vumigo.apps.dialogue.poll``). Each sender has a session in
``app_sessions`` holding their current question and this run's answers. A message is an answer
to the current question, except the first (which starts the dialogue), a USSD session start
mid-dialogue (which asks the current question again: the caller was cut off) and a session
close (which changes nothing). Answers go to the contact as ``extra[store_as]`` plus numbered
copies; a finished dialogue starts over only if ``poll_metadata.repeatable``, otherwise the
contact is shown its end again.

Written in Python rather than as JavaScript in the sandbox: the states are few and fixed, the
contact, session and reply writes then commit in the message's own unit of work, and a survey
costs no node process. The action ``send_dialogue`` starts the dialogue with every contact of
the groups by sending them the first question (over SMS, say), through the windowed sender.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps import sessions
from vumigo.apps.actions import Action, ActionApp, ActionError, ActionRun, Param
from vumigo.apps.base import AppContext, ExtraWrite
from vumigo.apps.bulk_message.sender import GroupSend, Outgoing, Planner, Recipient
from vumigo.apps.bulk_message.window import record_event
from vumigo.apps.contact_updates import MapChange, change_contact, contact_for, with_answer
from vumigo.apps.dialogue import calls
from vumigo.apps.dialogue.machine import Step, again, answer, finished_again, start
from vumigo.apps.dialogue.poll import PollError, parse_poll
from vumigo.message import Event, UserMessage

log = logging.getLogger(__name__)

UNAVAILABLE = "Sorry, this survey is not available right now."

SEND_DIALOGUE = Action(
    "send_dialogue",
    "Send Dialogue",
    needs_group=True,
    needs_running=True,
    needs_confirmation=True,
    params=(Param("delivery_class", str, help="Default: the poll's, else sms."),),
)


def session_state(step: Step, answers: dict[str, str]) -> dict[str, Any]:
    return {"state": step.state, "finished": step.finished, "answers": answers}


def contact_changes(step: Step) -> MapChange | None:
    if not step.answers:
        return None
    changes = [with_answer(store_as, value) for store_as, value in step.answers]

    def change(extra: dict[str, str]) -> dict[str, str]:
        for one in changes:
            extra = one(extra)
        return extra

    return change


class DialogueApp(ActionApp):
    conversation_type = "dialogue"
    display_name = "Dialogue"
    actions = (SEND_DIALOGUE,)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        if "poll" in config:
            parse_poll(config["poll"])
        return config

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        if msg.session_event == "close" or not msg.from_addr:
            return
        try:
            poll = parse_poll(ctx.config.get("poll") or {})
        except PollError as exc:
            log.warning("dialogue %s has a broken poll: %s", ctx.conversation.key, exc)
            ctx.reply_to(msg, UNAVAILABLE, continue_session=False)
            return
        saved = await sessions.load(self.engine.db, ctx.conversation.key, msg.from_addr)
        answers: dict[str, str] = {}
        if saved is None or (saved.get("finished") and poll.repeatable):
            step = start(poll)
        elif saved.get("finished"):
            step = finished_again(poll, saved.get("state"))
        else:
            answers = dict(saved.get("answers") or {})
            if msg.session_event == "new":
                step = again(poll, saved.get("state"))
            else:
                step = answer(poll, saved.get("state"), msg.content)
        answers.update(step.answers)
        await self._call_out(ctx, msg, step, answers)
        self._apply(ctx, msg, step, answers)

    async def _call_out(
        self, ctx: AppContext, msg: UserMessage, step: Step, answers: dict[str, str]
    ) -> None:
        for state in step.calls:
            body = {
                "conversation_key": ctx.conversation.key,
                "from_addr": msg.from_addr,
                "state": state.name,
                "answers": answers,
            }
            await calls.call(state, body)

    def _apply(
        self, ctx: AppContext, msg: UserMessage, step: Step, answers: dict[str, str]
    ) -> None:
        assert msg.from_addr is not None
        if step.text is not None:
            ctx.reply_to(msg, step.text, continue_session=not step.close)
        elif step.close and msg.transport_type == "ussd":
            ctx.reply_to(msg, "", continue_session=False)  # a USSD session must be closed
        for endpoint, text in step.sends:
            ctx.send_to(msg.from_addr, text, endpoint)
        owner = ctx.conversation.key
        ctx.extra_writes.append(sessions.save(owner, msg.from_addr, session_state(step, answers)))
        extra, groups = contact_changes(step), list(step.groups)
        if extra is not None or groups:
            account, address = ctx.conversation.account_key, msg.from_addr
            transport = msg.transport_type

            async def store(session: AsyncSession) -> None:
                contact = await contact_for(session, account, address, transport)
                await change_contact(session, account, contact, extra=extra, add_groups=groups)

            ctx.extra_writes.append(store)

    async def consume_event(self, ctx: AppContext, event: Event, message: UserMessage) -> None:
        record_event(ctx, event)

    async def action_send_dialogue(self, run: ActionRun) -> dict[str, Any]:
        try:
            poll = parse_poll(run.conversation.config.get("poll") or {})
        except PollError as exc:
            raise ActionError(f"The poll cannot run: {exc}") from exc
        first = start(poll)
        if first.text is None:
            raise ActionError("The dialogue has no question to send.")
        plan = _first_question(run, first)
        delivery_class = str(run.params.get("delivery_class") or poll.delivery_class)
        send = GroupSend(run, "send_dialogue", plan, delivery_class=delivery_class)
        return await send.run()


def _first_question(run: ActionRun, first: Step) -> Planner:
    """Everyone gets the first question and a session at it. States before it that add the
    contact to a group do so; ``send`` and ``httpjson`` states before it are not run."""
    owner, account = run.conversation.key, run.conversation.account_key
    groups = list(first.groups)
    text = first.text

    async def plan(chunk: list[Recipient]) -> list[Outgoing]:
        planned = []
        for recipient in chunk:
            writes: list[ExtraWrite] = [
                sessions.save(owner, recipient.address, session_state(first, {}))
            ]
            if groups:
                writes.append(_add_to_groups(account, recipient.contact_key, groups))
            planned.append(Outgoing(recipient, text, writes))
        return planned

    return plan


def _add_to_groups(account_key: str, contact_key: str, groups: list[str]) -> ExtraWrite:
    async def write(session: AsyncSession) -> None:
        await change_contact(session, account_key, contact_key, add_groups=groups)

    return write
