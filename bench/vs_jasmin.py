"""Benchmark: our gateway against Jasmin, same SMSC, same load, same machine, same run.

Outbound: the same N messages (default 20,000) of 20 GSM characters go in through each gateway's
HTTP API at the same concurrency (C keep-alive clients, default 50), and out over one SMPP
transceiver bind to the same simulator (bench/peers/smsc.js, which answers every submit_sm at
once and counts them per bound system_id):

- ours: PUT /api/v1/go/http_api_nostream/<conv>/messages.json → SMPP transport (vumigo serve);
- Jasmin: POST /send (username, password, from, to, content) → its SMPP client connector.

Each gateway gets the N messages in R runs (default 2) that alternate between the gateways, ours
first in even rounds and Jasmin first in odd ones, after a warm-up of 300 that is not counted.
Reported per run and for all runs together: messages per second from the first request until
the simulator had accepted the last submit_sm, p50/p99 of the HTTP answer time, CPU seconds used
by the gateway's processes (and per message), and their peak resident memory (Jasmin: jasmind,
deliversmd, and the RabbitMQ and Redis it needs; ours: the one vumigo process). Then the ratios.

Inbound, in the same run and the same way: the simulator sends M MO deliver_sm per gateway
(default 2,000, at most W unanswered at a time, default 10) to each gateway's bind, and each
gateway pushes them over HTTP to the same receiver (ours: the conversation's push URL, Vumi
JSON; Jasmin: an HTTP client connector on its MO route, form-encoded). Reported: MO per second
from the first deliver_sm until the last push arrived, the rate at which the deliver_sm were
answered, p50/p99 of the time from the simulator's send to the push, CPU and memory as above.

Set-up is part of the run: the Debian packages (redis-server, rabbitmq-server, nodejs) are
installed if missing, Jasmin is installed from PyPI into its own venv under the scratch folder
(kept between runs), and RabbitMQ and Redis are started privately on free loopback ports.

    .venv/bin/python bench/vs_jasmin.py [--n 20000] [--concurrency 50] [--rounds 2] [--mo 2000]

The last line reads ``ratio vumigo/jasmin throughput: X.XX`` (outbound msg/s; above 1 is ours
faster).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

import jasmin  # bench/peers, put on the path above
import ours
from load import PushReceiver, Request, drive
from report import Run, inbound_table, load, machine, outbound_table, ratios
from services import Rabbit, Redis, Usage, ensure_packages
from smsc import Simulator

ROOT = Path(__file__).resolve().parents[1]
TEXT = "benchmark message 01"  # 20 GSM characters
STALL_SECONDS = 60.0
WARM_UP = 300


@dataclass
class Gateway:
    name: str
    system_id: str
    http_port: int
    request: Request
    groups: dict[str, list[int]]  # process groups whose cost counts


def jasmin_request(port: int) -> Request:
    def build(i: int) -> bytes:
        body = urlencode(
            {
                "username": jasmin.USER,
                "password": jasmin.PASSWORD,
                "from": ours.TAG,
                "to": f"2782{i:07d}",
                "content": TEXT,
            }
        ).encode()
        head = (
            f"POST /send HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return build


def our_request(port: int, account: str, conv: str, token: str) -> Request:
    auth = base64.b64encode(f"{account}:{token}".encode()).decode()
    path = f"/api/v1/go/{ours.CONV_TYPE}/{conv}/messages.json"

    def build(i: int) -> bytes:
        body = json.dumps({"to_addr": f"2782{i:07d}", "content": TEXT}).encode()
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return build


async def wait_for(check: Callable[[], Awaitable[int | None]], what: str) -> None:
    """Polls ``check()`` (progress so far, or None once done) until done; fails on a stall."""
    last, since = None, time.monotonic()
    while True:
        progress = await check()
        if progress is None:
            return
        if progress != last:
            last, since = progress, time.monotonic()
        elif time.monotonic() - since > STALL_SECONDS:
            raise RuntimeError(f"{what}: no progress for {STALL_SECONDS:.0f}s (at {progress})")
        await asyncio.sleep(0.05)


def _parts(usage: Usage, gw: Gateway) -> dict[str, tuple[float, float]]:
    """CPU seconds and peak MB of each group of the gateway's processes."""
    return {
        name: (usage.cost(name).cpu_seconds, usage.cost(name).peak_rss / 2**20)
        for name in gw.groups
    }


async def outbound(sim: Simulator, gw: Gateway, n: int, concurrency: int) -> Run:
    await sim.call("POST", "/reset", {"system_id": gw.system_id})
    with Usage(gw.groups) as usage:
        result = await drive(gw.http_port, gw.request, n, concurrency)
        if result.failures:
            failed = len(result.failures)
            raise RuntimeError(f"{gw.name}: {failed} failed, e.g. {result.failures[0]}")

        async def accepted() -> int | None:
            count = int((await sim.gateway(gw.system_id)).get("submit_sm", 0))
            return None if count >= n else count

        await wait_for(accepted, f"{gw.name} outbound")
    stats = await sim.gateway(gw.system_id)
    seconds = stats["last_ms"] / 1000 - result.started
    return Run(gw.name, n, seconds, result.latencies, _parts(usage, gw))


async def inbound(sim: Simulator, receiver: PushReceiver, gw: Gateway, m: int, window: int) -> Run:
    await sim.call("POST", "/reset", {"system_id": gw.system_id})
    receiver.reset()
    with Usage(gw.groups) as usage:
        burst = {"system_id": gw.system_id, "count": m, "window": window, "destination": ours.TAG}
        await sim.call("POST", "/mo", burst)

        async def pushed() -> int | None:
            return None if len(receiver.seen) >= m else len(receiver.seen)

        await wait_for(pushed, f"{gw.name} inbound")
    stats = await sim.gateway(gw.system_id)
    if stats["mo_failed"]:
        raise RuntimeError(f"{gw.name}: {stats['mo_failed']} deliver_sm answered with an error")
    first = stats["mo_first_ms"] / 1000
    return Run(
        gw.name,
        m,
        receiver.last_at - first,
        list(receiver.latencies),
        _parts(usage, gw),
        stats["mo_last_resp_ms"] / 1000 - first,
    )


def shares(total: int, rounds: int) -> list[int]:
    """``total`` split into ``rounds`` runs as evenly as whole messages allow."""
    return [total // rounds + (1 if i < total % rounds else 0) for i in range(rounds)]


def order(round_no: int) -> list[str]:
    """Ours first in even rounds, Jasmin first in odd ones: neither always goes first."""
    return ["vumigo", "jasmin"] if round_no % 2 == 0 else ["jasmin", "vumigo"]


def report(args: argparse.Namespace, outs: list[Run], ins: list[Run]) -> None:
    print()
    print(f"machine: {machine()}; load average {args.load_before} before, {load()} after")
    print(
        f"outbound: {args.n} messages per gateway in {args.rounds} alternating runs, "
        f"{args.concurrency} HTTP clients"
    )
    out = outbound_table(outs)
    print(f"jasmin's processes (CPU s, peak MB): {out['jasmin'].parts()}")
    if ins:
        print()
        print(
            f"inbound: {args.mo} MO per gateway in {args.rounds} alternating runs, the SMSC "
            f"keeping {args.mo_window} unanswered; latency: SMSC's send to the HTTP push"
        )
        found = inbound_table(ins)
        print(f"jasmin's processes (CPU s, peak MB): {found['jasmin'].parts()}")
        print(ratios("inbound", found["vumigo"], found["jasmin"]))
    print()
    print(f"settings, vumigo: {ours.settings(args.window)}")
    print(f"settings, jasmin: {jasmin.SETTINGS}")
    print(
        "msg/s: first HTTP request until the SMSC accepted the last submit_sm (MO/s: first "
        "deliver_sm until the last push); CPU s, ms/msg, peak MB: the gateway's processes "
        "during the runs (jasmin: jasmind, deliversmd, RabbitMQ, Redis)"
    )
    print(ratios("outbound", out["vumigo"], out["jasmin"]))
    print(f"ratio vumigo/jasmin throughput: {out['vumigo'].rate / out['jasmin'].rate:.2f}")


async def compare(args: argparse.Namespace, venv: Path, run_dir: Path) -> None:
    receiver = PushReceiver()
    await receiver.start()
    sim = Simulator()
    rabbit, redis = Rabbit(run_dir), Redis(run_dir)
    j = jasmin.Jasmin(venv, run_dir / "jasmin", rabbit.port, redis.port)
    mine = ours.Ours(run_dir / "vumigo", max_pending=2 * max(args.mo, 10_000))
    push_url = f"http://127.0.0.1:{receiver.port}"
    try:
        started = time.monotonic()
        await asyncio.to_thread(rabbit.start)
        await asyncio.to_thread(redis.start)
        await asyncio.to_thread(j.start)
        await asyncio.to_thread(j.configure, sim.port, f"{push_url}/jasmin")
        mine.data_dir.mkdir(parents=True)
        account, conv, token = await ours.seed(
            mine.db_url, sim.port, args.window, f"{push_url}/vumigo"
        )
        await asyncio.to_thread(mine.start)
        await sim.wait_bound([jasmin.SYSTEM_ID, ours.SYSTEM_ID])
        print(f"set-up done in {time.monotonic() - started:.1f}s", flush=True)
        gateways = {
            "vumigo": Gateway(
                "vumigo",
                ours.SYSTEM_ID,
                mine.port,
                our_request(mine.port, account, conv, token),
                {"vumigo": mine.pids},
            ),
            "jasmin": Gateway(
                "jasmin",
                jasmin.SYSTEM_ID,
                j.ports["http"],
                jasmin_request(j.ports["http"]),
                {"jasmind+deliversmd": j.pids, "rabbitmq": [rabbit.pid], "redis": [redis.pid]},
            ),
        }
        # Warm-up, not measured: first connections, imports and caches on both sides.
        for gw in gateways.values():
            await outbound(sim, gw, WARM_UP, args.concurrency)
        outs: list[Run] = []
        for round_no, n in enumerate(shares(args.n, args.rounds)):
            for name in order(round_no):
                run = await outbound(sim, gateways[name], n, args.concurrency)
                print(f"  outbound {name}: {n} at {run.rate:.0f} msg/s", flush=True)
                outs.append(run)
        ins: list[Run] = []
        if args.mo:
            for gw in gateways.values():
                await inbound(sim, receiver, gw, min(WARM_UP, args.mo), args.mo_window)
            for round_no, m in enumerate(shares(args.mo, args.rounds)):
                for name in order(round_no):
                    run = await inbound(sim, receiver, gateways[name], m, args.mo_window)
                    print(f"  inbound {name}: {m} at {run.rate:.0f} MO/s", flush=True)
                    ins.append(run)
        report(args, outs, ins)
    finally:
        await asyncio.to_thread(mine.stop)
        await asyncio.to_thread(j.stop)
        await asyncio.to_thread(redis.stop)
        await asyncio.to_thread(rabbit.stop)
        sim.close()
        await receiver.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="outbound messages per gateway")
    parser.add_argument("--concurrency", type=int, default=50, help="HTTP clients")
    parser.add_argument("--rounds", type=int, default=2, help="runs per gateway, alternating")
    parser.add_argument("--mo", type=int, default=2_000, help="MO per gateway; 0: no inbound")
    parser.add_argument("--mo-window", type=int, default=10, help="deliver_sm in flight")
    parser.add_argument("--window", type=int, default=10, help="our bind's submit_sm window")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=ROOT / "var" / "bench-peers",
        help="where Jasmin's venv is kept, and each run's servers keep their data",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs)")
    args = parser.parse_args()
    if args.n < args.rounds or args.rounds < 1:
        parser.error("--n must be at least --rounds, and --rounds at least 1")
    args.load_before = load()
    ensure_packages(
        {"redis-server": "redis-server", "rabbitmq-server": "rabbitmq-server", "node": "nodejs"}
    )
    args.scratch.mkdir(parents=True, exist_ok=True)
    venv = jasmin.install(args.scratch)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.scratch))
    os.chmod(run_dir, 0o755)  # RabbitMQ runs as its own user and must reach its folder
    try:
        asyncio.run(compare(args, venv, run_dir))
    finally:
        if args.keep:
            print(f"logs kept in {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
