"""Benchmark: submit_sm per second over one SMPP bind, with delivery receipts.

Workload: N messages of 20 GSM characters with registered_delivery=1, sent over one transceiver
bind on 127.0.0.1 to the SMSC simulator (tools/smsc/simulator.js under node), which answers each
submit_sm at once and sends its receipt straight after. A run is timed from the first submit to
the moment every message has been acked *and* its receipt matched to our id; the "acked" column
stops the clock at the last submit_sm_resp instead.

- ours: vumigo's SmppClient at window 1, 10 and 50 (no TPS limit).
- baseline, measured in the same run against the same simulator: smpplib 2.2.4's blocking
  client, one submit_sm at a time (window 1: send, read until its resp), then reading until
  every receipt is in. This is the stop-and-wait pattern of a prefetch-1 gateway.

    .venv/bin/python bench/smpp_session.py [--messages 3000] [--baseline-messages 1000]

A real SMSC rarely allows more than 100-150 msg/s per bind; the point is what the window buys
on a round trip, and that the client is nowhere near the bottleneck. On loopback the simulator
(one node process) is usually the limit at larger windows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import smpplib.client
import smpplib.consts

from vumigo.transports.smpp import MemoryCorrelationStore, SmppClient, SmppConfig

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = ROOT / "tools" / "smsc" / "simulator.js"
TEXT = "benchmark message 01"  # 20 GSM characters


@dataclass
class Result:
    name: str
    window: int
    messages: int
    acked_seconds: float
    done_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.done_seconds

    @property
    def acked_rate(self) -> float:
        return self.messages / self.acked_seconds


class Simulator:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(SIMULATOR), "--port=0", "--control-port=0", "--dlr-delay-ms=0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        ports = dict(item.split("=") for item in line.split()[2:])
        self.port = int(ports["smpp"])
        self.control = f"http://127.0.0.1:{ports['control']}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(self.control + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self.call("POST", "/reset")
        self.call("POST", "/mode", {"dlr_delay_ms": 0})

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(5)


def run_baseline(simulator: Simulator, messages: int) -> Result:
    simulator.reset()
    acked = 0
    receipts = 0

    def on_sent(pdu: Any, **_: Any) -> None:
        nonlocal acked
        acked += 1

    def on_received(pdu: Any, **_: Any) -> int:
        nonlocal receipts
        receipts += 1
        return int(smpplib.consts.SMPP_ESME_ROK)

    client = smpplib.client.Client("127.0.0.1", simulator.port, allow_unknown_opt_params=True)
    client.set_message_sent_handler(on_sent)
    client.set_message_received_handler(on_received)
    client.connect()
    client.bind_transceiver(system_id="bench", password="")
    started = time.perf_counter()
    for n in range(messages):
        client.send_message(
            source_addr="12345",
            destination_addr="27820000001",
            short_message=TEXT.encode(),
            registered_delivery=1,
            data_coding=0,
        )
        while acked <= n:  # stop and wait: nothing more goes out until this resp is in
            client.read_once()
    acked_at = time.perf_counter()
    while receipts < messages:
        client.read_once()
    done_at = time.perf_counter()
    client.unbind()
    client.disconnect()
    return Result("smpplib blocking client", 1, messages, acked_at - started, done_at - started)


async def run_ours(simulator: Simulator, window: int, messages: int) -> Result:
    simulator.reset()
    acks = 0
    reports = 0
    all_acked = asyncio.Event()
    all_done = asyncio.Event()

    async def on_event(kind: str, message_id: str, /, **details: Any) -> None:
        nonlocal acks, reports
        if kind == "ack":
            acks += 1
            if acks == messages:
                all_acked.set()
        elif kind == "delivery_report":
            reports += 1
            if reports == messages:
                all_done.set()

    async def on_inbound(source: str, destination: str, content: str, /, **details: Any) -> None:
        pass

    config = SmppConfig(
        port=simulator.port,
        system_id="bench",
        window=window,
        max_queue=messages + 1,
        enquire_link_interval=0,
    )
    client = SmppClient(config, MemoryCorrelationStore(), on_inbound, on_event)
    await client.start()
    await client.wait_bound(10)
    started = time.perf_counter()
    for n in range(messages):
        await client.submit(f"bench-{n}", "12345", "27820000001", TEXT)
    await all_acked.wait()
    acked_at = time.perf_counter()
    await all_done.wait()
    done_at = time.perf_counter()
    unmatched = client.counters["receipts_unmatched"]
    await client.stop()
    assert unmatched == 0, f"{unmatched} receipts did not match"
    return Result("vumigo SmppClient", window, messages, acked_at - started, done_at - started)


def print_table(results: list[Result], baseline: Result) -> None:
    header = (
        f"{'implementation':<26}{'window':>7}{'messages':>10}{'seconds':>9}"
        f"{'acked/s':>10}{'msg/s':>10}{'x baseline':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<26}{r.window:>7}{r.messages:>10}{r.done_seconds:>9.2f}"
            f"{r.acked_rate:>10.0f}{r.rate:>10.0f}{r.rate / baseline.rate:>12.2f}"
        )
    print("msg/s counts a message once it is acked and its receipt matched; x baseline uses it.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--baseline-messages", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    simulator = Simulator()
    try:
        # Warm both up (node's JIT, Python's imports) before measuring.
        run_baseline(simulator, 200)
        asyncio.run(run_ours(simulator, 10, 200))
        baseline = run_baseline(simulator, args.baseline_messages)
        results = [baseline]
        for window in (1, 10, 50):
            results.append(asyncio.run(run_ours(simulator, window, args.messages)))
    finally:
        simulator.close()
    print_table(results, baseline)


if __name__ == "__main__":
    main()
