"""``vumigo bus``: queue depths, and the dead letters of a queue, shown and replayed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from vumigo.bus import Bus, create_bus
from vumigo.bus import queues as q
from vumigo.cli.common import OperationFailed, State, VumigoCommand, VumigoGroup, emit, pass_state
from vumigo.cli.common import run as run_async

T = TypeVar("T")

CORE_QUEUES = (q.DISPATCHER_INBOUND, q.DISPATCHER_OUTBOUND, q.DISPATCHER_EVENT)


def _with_bus(state: State, work: Callable[[Bus], Awaitable[T]]) -> T:
    settings = state.settings
    if not settings.broker_url:
        raise OperationFailed(
            "no broker configured: the embedded mode's in-process bus lives inside "
            "`vumigo serve` (set VUMIGO_BROKER_URL for the distributed mode)"
        )

    async def go() -> T:
        bus = create_bus(settings.broker_url, settings.broker_prefix)
        try:
            await bus.start()
        except Exception as exc:
            raise OperationFailed(f"cannot reach the broker: {exc}") from None
        try:
            return await work(bus)
        finally:
            await bus.stop()

    return run_async(go())


@click.group(cls=VumigoGroup)
def bus() -> None:
    """Look at the message bus (RabbitMQ) of the distributed mode."""


@bus.command(cls=VumigoCommand)
@click.argument("queues", nargs=-1)
@pass_state
def depth(state: State, queues: tuple[str, ...]) -> None:
    """Messages waiting on QUEUES (default: the dispatcher's) and on their dead-letter queues."""
    names = queues or CORE_QUEUES

    async def work(b: Bus) -> list[dict[str, Any]]:
        return [
            {"queue": n, "waiting": await b.depth(n), "dead": len(await b.dead_letters(n))}
            for n in names
        ]

    rows = _with_bus(state, work)
    emit(state, rows, [f"{r['queue']}: {r['waiting']} waiting, {r['dead']} dead" for r in rows])


@bus.command("dead-letters", cls=VumigoCommand)
@click.argument("queue")
@click.option("--replay", is_flag=True, help="Put them back on QUEUE to be handled again.")
@pass_state
def dead_letters(state: State, queue: str, replay: bool) -> None:
    """Show the messages that failed repeatedly on QUEUE, or replay them."""

    async def work(b: Bus) -> Any:
        if replay:
            return {"queue": queue, "replayed": await b.replay_dead_letters(queue)}
        return [
            {"queue": queue, "attempts": d.attempts, "body": d.body.decode("utf-8", "replace")}
            for d in await b.dead_letters(queue)
        ]

    result = _with_bus(state, work)
    if replay:
        emit(state, result, f"replayed {result['replayed']} message(s) onto {queue}")
    else:
        emit(state, result, [r["body"] for r in result] or [f"no dead letters on {queue}"])


COMMANDS = (bus,)
