"""SmppClient when the SMSC misbehaves: throttling, rejects, dropped connections, slow answers,
refused binds, an SMSC that is not there yet, and a platform that fails to store an MO."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from .smpp_harness import MakeClient, Simulator, Smsc, start_simulator, stop_simulator


async def test_throttling_slows_down_and_loses_nothing(smsc: Smsc, make_client: MakeClient) -> None:
    await smsc.mode(throttle=6, qfull=3)
    h = await make_client(window=10, throttle_delay=0.1)
    started = time.monotonic()
    for n in range(40):
        await h.client.submit(f"m{n:02d}", "12345", "27820000001", f"message {n:02d}")
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("ack")) == 40)
    elapsed = time.monotonic() - started

    assert h.recorder.of_kind("nack") == []
    texts = Counter(m["text"] for m in await smsc.received())
    assert texts == Counter(f"message {n:02d}" for n in range(40))  # each exactly once
    stats = await smsc.stats()
    assert stats["submit_sm_resp"] == {"ESME_RTHROTTLED": 6, "ESME_RMSGQFUL": 3, "ESME_ROK": 40}
    assert h.client.counters["throttled"] == 9
    assert h.client.counters["submit_sm_retries"] == 9
    assert elapsed >= 0.1  # it paused


async def test_throttling_lowers_window_and_rate(smsc: Smsc, make_client: MakeClient) -> None:
    await smsc.mode(throttle=1)
    h = await make_client(window=8, mt_tps=100, throttle_delay=0.05)
    await h.client.submit("only", "12345", "27820000001", "hi")
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("ack")))
    health = h.client.health()
    assert health["throttled"] is True
    assert (health["effective_window"], health["window"]) == (4, 8)
    assert health["tps_limit"] == 50


async def test_window_of_one_keeps_order_through_throttling(
    smsc: Smsc, make_client: MakeClient
) -> None:
    await smsc.mode(throttle=2, qfull=2)
    h = await make_client(window=1, throttle_delay=0.01)
    for n in range(6):
        await h.client.submit(f"m{n}", "12345", "27820000001", f"message {n}")
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("ack")) == 6)
    assert [m["text"] for m in await smsc.received()] == [f"message {n}" for n in range(6)]
    assert [m for m, _ in h.recorder.of_kind("ack")] == [f"m{n}" for n in range(6)]


async def test_rejected_message_is_nacked_with_the_status_name(
    smsc: Smsc, make_client: MakeClient
) -> None:
    await smsc.mode(reject=1)
    h = await make_client(window=1)
    await h.client.submit("bad", "12345", "27820000001", "rejected")
    await h.client.submit("good", "12345", "27820000001", "accepted")
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("ack")))
    assert h.recorder.of_kind("nack") == [("bad", {"reason": "ESME_RSUBMITFAIL", "status": 0x45})]
    assert [m for m, _ in h.recorder.of_kind("ack")] == ["good"]


async def test_rejected_first_part_drops_the_rest_of_the_message(
    smsc: Smsc, make_client: MakeClient
) -> None:
    await smsc.mode(reject=1, reject_status=0x0B)
    h = await make_client(window=1)
    await h.client.submit("long", "12345", "bad-number", "x" * 400)
    await h.client.submit("next", "12345", "27820000001", "fine")
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("ack")))
    assert h.recorder.of_kind("nack") == [("long", {"reason": "ESME_RINVDSTADR", "status": 0x0B})]
    assert [m["text"] for m in await smsc.submits()] == ["fine"]


async def test_dropped_connection_loses_nothing_and_resends_nothing_acknowledged(
    smsc: Smsc, make_client: MakeClient
) -> None:
    await smsc.mode(drop_after=7)
    h = await make_client(window=10)
    for n in range(40):
        await h.client.submit(f"m{n:02d}", "12345", "27820000001", f"message {n:02d}")
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("delivery_report")) == 40)

    assert sorted(m for m, _ in h.recorder.of_kind("ack")) == [f"m{n:02d}" for n in range(40)]
    submits = Counter(s["text"] for s in await smsc.submits())
    assert submits == Counter(f"message {n:02d}" for n in range(40))  # nothing sent twice
    stats = await smsc.stats()
    assert (stats["drops"], stats["binds"]["transceiver"]) == (1, 2)
    assert h.client.counters["connections_lost"] == 1
    assert h.client.counters["segments_requeued"] >= 1
    assert h.client.counters["submit_sm"] == 40 + h.client.counters["segments_requeued"]


async def test_lost_resp_means_the_smsc_may_see_a_message_twice(
    smsc: Smsc, make_client: MakeClient
) -> None:
    # The documented at-least-once edge: the SMSC kept m2 but its resp never came back.
    await smsc.mode(drop_after=2, drop_accepted=True)
    h = await make_client(window=1)
    for n in range(4):
        await h.client.submit(f"m{n}", "12345", "27820000001", f"message {n}")
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("ack")) == 4)
    texts = [s["text"] for s in await smsc.submits()]
    assert texts == ["message 0", "message 1", "message 2", "message 2", "message 3"]
    assert [m for m, _ in h.recorder.of_kind("ack")] == ["m0", "m1", "m2", "m3"]


async def test_unanswered_submit_makes_the_client_reconnect(
    smsc: Smsc, make_client: MakeClient
) -> None:
    await smsc.mode(delay_ms=3000)
    h = await make_client(response_timeout=0.2, window=1)
    await h.client.submit("slow", "12345", "27820000001", "anyone there?")
    await h.recorder.wait_until(lambda: h.client.counters["response_timeouts"] >= 1)
    await smsc.mode(delay_ms=0)
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("ack")))
    assert h.client.counters["connections_lost"] >= 1


async def test_stop_returns_messages_without_an_answer(smsc: Smsc, make_client: MakeClient) -> None:
    await smsc.mode(delay_ms=2000)
    h = await make_client(window=1)
    for name in ("a", "b", "c"):
        await h.client.submit(name, "12345", "27820000001", name)
    await h.recorder.wait_until(lambda: h.client.health()["in_flight"] == 1)
    started = time.monotonic()
    assert await h.client.stop(timeout=0.2) == ["a", "b", "c"]
    assert time.monotonic() - started < 3
    assert h.recorder.events == []


async def test_failed_store_gets_the_mo_delivered_again(
    smsc: Smsc, make_client: MakeClient
) -> None:
    await smsc.mode(redeliver_delay_ms=20)
    h = await make_client()
    h.recorder.inbound_failures = 1
    assert await smsc.mo(source="27821111111", text="keep me") == [0]
    assert [content for *_, content, _ in h.recorder.inbound] == ["keep me"]
    stats = await smsc.stats()
    assert stats["deliver_sm_resp"] == {"ESME_RX_T_APPN": 1, "ESME_ROK": 1}


async def test_failed_store_of_a_multipart_mo_keeps_its_parts(
    smsc: Smsc, make_client: MakeClient
) -> None:
    await smsc.mode(redeliver_delay_ms=20)
    h = await make_client()
    h.recorder.inbound_failures = 1
    text = "part of something longer " * 10
    assert set(await smsc.mo(source="27821111111", text=text)) == {0}
    assert [content for *_, content, _ in h.recorder.inbound] == [text]


async def test_mt_tps_limits_the_rate(smsc: Smsc, make_client: MakeClient) -> None:
    h = await make_client(mt_tps=50, window=10)
    started = time.monotonic()
    for n in range(20):
        await h.client.submit(f"m{n}", "12345", "27820000001", "paced")
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("ack")) == 20)
    # a burst of 5 (a tenth of a second's worth), then 15 more at 50/s
    assert time.monotonic() - started >= 0.28


@pytest.fixture
def secured_simulator() -> Iterator[Simulator]:
    running = start_simulator("--system-id=vumi", "--password=secret")
    yield running
    stop_simulator(running)


async def test_refused_bind_is_retried_with_back_off(
    make_client: MakeClient, secured_simulator: Simulator
) -> None:
    port = secured_simulator.smpp_port
    started = time.monotonic()
    wrong = await make_client(bind=False, port=port, system_id="vumi", password="wrong")
    await wrong.recorder.wait_until(lambda: wrong.client.counters["bind_failures"] >= 3)
    # waits of 0.05 s and then 0.1 s between attempts: backing off, not a hot loop
    assert time.monotonic() - started >= 0.15
    health = wrong.client.health()
    assert not health["bound"]
    assert "ESME_RINVPASWD" in str(health["last_error"])
    right = await make_client(port=port, system_id="vumi", password="secret")
    assert right.client.health()["bound"]


async def test_messages_wait_for_an_smsc_that_is_not_there_yet(make_client: MakeClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    h = await make_client(bind=False, port=port)
    for n in range(3):
        await h.client.submit(f"early{n}", "12345", "27820000001", f"queued {n}")
    await asyncio.sleep(0.1)
    health = h.client.health()
    assert (health["bound"], health["queued"]) == (False, 3)
    assert "ConnectionRefusedError" in str(health["last_error"])
    late = start_simulator(f"--port={port}")
    try:
        await h.recorder.wait_until(lambda: len(h.recorder.of_kind("delivery_report")) == 3)
    finally:
        await h.client.stop(timeout=1)
        stop_simulator(late)


async def test_stop_while_the_smsc_is_unreachable(make_client: MakeClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    h = await make_client(bind=False, port=port, reconnect_min=5, reconnect_max=5)
    await h.client.submit("a", "12345", "27820000001", "a")
    await h.client.submit("b", "12345", "27820000001", "x" * 200)
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await h.client.stop(timeout=1) == ["a", "b"]
    assert time.monotonic() - started < 1.5  # woken from its 5 s back-off
    assert h.client.health()["links"] == {"transceiver": "stopped"}
