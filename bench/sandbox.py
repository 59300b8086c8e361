"""Benchmark: the warm sandbox pool against the original's one-node-process-per-message model.

Workload: the ``simple`` example app shipped in vumigo_v02 (examples/simple), USSD sessions of
two turns (start -> menu, choice -> end) spread over 10 users of one account, one message at a
time, with in-memory kv, log and outbound stores. Every reply is checked.

Modes, all measured in the same run on the same machine:

- warm pool: this runtime (warm process, fresh vm context per message, full isolation);
- fresh process per message, as the original: node started for every message, rlimits and an
  empty environment only (no permission flags, namespaces or uid change);
- fresh process per message with this runtime's full isolation.

The ratio compares the warm pool with the faster of the two baselines.

Run: ``.venv/bin/python bench/sandbox.py [--messages 2000] [--baseline-messages 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from vumigo.sandbox import SandboxManager, SandboxSettings, build_registry
from vumigo.sandbox.isolation import launch_plan
from vumigo.sandbox.limits import find_modules_dir
from vumigo.sandbox.resources.outbound import InMemoryOutbox

MENU = "Tea or coffee?\n1. Tea\n2. Coffee"
ANSWERS = {"1": "Meh. Bye.", "2": "Cool :) Bye."}


def simple_app() -> str:
    path = find_modules_dir() / "vumigo_v02" / "examples" / "simple" / "lib" / "app.js"
    return path.read_text().replace("require('../../../lib')", "require('vumigo_v02')")


def message(index: int, users: int) -> tuple[dict[str, Any], str]:
    """The index-th message of the workload and the reply it must get."""
    session, turn = divmod(index, 2)
    user = session % users
    choice = "1" if session % 2 else "2"
    content = None if turn == 0 else choice
    msg: dict[str, Any] = {
        "message_id": uuid.uuid4().hex,
        "message_type": "user_message",
        "message_version": "20110921",
        "from_addr": f"+2780000{user:04d}",
        "to_addr": "*120#",
        "content": content,
        "session_event": "new" if content is None else "resume",
        "transport_name": "bench",
        "transport_type": "ussd",
        "transport_metadata": {},
        "helper_metadata": {},
    }
    return msg, MENU if content is None else ANSWERS[choice]


@dataclass
class Figures:
    mode: str
    latencies: list[float]
    total: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.total

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000


async def measure(mode: str, settings: SandboxSettings, count: int, users: int) -> Figures:
    app, config = simple_app(), {"config": json.dumps({"name": "bench_app"})}
    outbox = InMemoryOutbox()
    async with SandboxManager(settings, resources=build_registry(outbound=outbox)) as manager:
        if settings.prewarm:
            await manager.warm("acct")
        for i in range(20):  # warm-up (JIT, caches), not counted
            msg, _ = message(i, users)
            await manager.run("acct", app, config, msg)
        latencies = []
        started = time.perf_counter()
        for i in range(count):
            msg, expected = message(i, users)
            t0 = time.perf_counter()
            result = await manager.run("acct", app, config, msg)
            latencies.append(time.perf_counter() - t0)
            reply = outbox.sent[-1][2].content
            if not result.ok or reply != expected:
                details = "\n".join(result.messages())
                raise SystemExit(f"{mode}: message {i}: {result.outcome} {result.error}\n{details}")
        total = time.perf_counter() - started
    return Figures(mode, latencies, total)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages for the warm pool")
    parser.add_argument("--baseline-messages", type=int, default=100)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()

    warm = SandboxSettings(messages_per_process=10_000)
    fresh = replace(warm, messages_per_process=1, prewarm=False)
    original = replace(
        fresh,
        node_permissions=False,
        network="off",
        run_as=None,
        hidden_paths=(),
        single_threaded_gc=False,
    )

    print(__doc__.split("\n\n")[1].replace("\n", " "))
    print(f"isolation of the warm pool:\n{launch_plan(warm).report.describe()}\n")
    runs = [
        await measure("warm pool (full isolation)", warm, args.messages, args.users),
        await measure(
            "process per message (original)", original, args.baseline_messages, args.users
        ),
        await measure(
            "process per message (full isolation)", fresh, args.baseline_messages, args.users
        ),
    ]
    print(f"{'mode':<40}{'msgs':>7}{'msg/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for f in runs:
        print(
            f"{f.mode:<40}{len(f.latencies):>7}{f.rate:>10.1f}{f.p50:>10.2f}"
            f"{f.percentile(0.99):>10.2f}"
        )
    pool, baseline = runs[0], max(runs[1:], key=lambda f: f.rate)
    print(
        f"\nwarm pool vs {baseline.mode}: {pool.rate / baseline.rate:.1f}x messages/s, "
        f"{baseline.p50 / pool.p50:.1f}x lower p50"
    )


if __name__ == "__main__":
    asyncio.run(main())
