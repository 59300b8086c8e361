"""The SMPP transport through the whole platform, against the SMSC simulator.

A conversation sends (the engine's outbound entry point) and the simulator answers, receipts
come back as events; the simulator's MO messages reach a static_reply conversation, whose reply
goes out again over the same bind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.transports.platform_support import (
    Channel,
    RunningPlatform,
    make_channel,
    wait_for,
)
from tests.transports.smpp.smpp_harness import Smsc
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import SmscCorrelation

TAG = "12345"
PHONE = "27820000001"
LONG_GSM = "The quick brown fox jumps over the lazy dog. " * 4 + "End."  # 184 characters
LONG_UCS2 = "Привет, как дела? Всё хорошо. " * 3  # 90 characters, outside GSM 03.38


def smpp_meta(port: int, **settings: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "transport_type": "smpp",
        "transport_name": "smpp_test",
        "delivery_class": "sms",
        "smpp.host": "127.0.0.1",
        "smpp.port": str(port),  # as `--meta smpp.port=...` gives it
        "smpp.system_id": "vumigo",
        "smpp.reconnect_min": 0.05,
        "smpp.reconnect_max": 0.2,
        "smpp.throttle_delay": 0.05,
        "smpp.stop_timeout": 1,
    }
    meta.update({f"smpp.{key}": value for key, value in settings.items()})
    return meta


Start = Callable[..., Any]


@pytest.fixture
async def start_platform(
    sqlite_db: Database, settings: Settings, smsc: Smsc
) -> AsyncIterator[Callable[..., Any]]:
    """Makes the channel (once) and starts a platform on it; every platform is stopped after."""
    running: list[RunningPlatform] = []
    channel: list[Channel] = []

    async def start(bind: bool = True, **settings_: Any) -> RunningPlatform:
        if not channel:
            meta = smpp_meta(smsc.port, **settings_)
            tags = ["*120*7#"] if settings_.get("ussd") else [TAG, "54321"]
            config = {"reply_text": "Thanks"}
            channel.append(await make_channel(sqlite_db, "smpp", tags, meta, config=config))
        platform = RunningPlatform(settings, channel[0])
        await platform.start()
        running.append(platform)
        if bind:
            transport = platform.transport("smpp_test")
            await wait_for(lambda: _true(transport.health()["connected"]), 5)
        return platform

    yield start
    for platform in running:
        if platform.platform.started:
            await platform.stop()


async def _true(value: Any) -> bool:
    return bool(value)


async def test_mt_gets_ack_and_delivered_then_failed_receipts(
    start_platform: Start, smsc: Smsc, sqlite_db: Database
) -> None:
    platform = await start_platform()
    first = await platform.send(PHONE, "hello")
    await platform.wait_events(first, "ack", "delivery_report.delivered")
    await smsc.mode(dlr_status="UNDELIV")
    second = await platform.send("27820000002", "are you there?")
    await platform.wait_events(second, "ack", "delivery_report.failed")

    received = await smsc.received()
    assert [(r["source"], r["destination"], r["text"]) for r in received] == [
        (TAG, PHONE, "hello"),
        (TAG, "27820000002", "are you there?"),
    ]
    acks = [e for e in await platform.events(first) if e.event_type == "ack"]
    assert [a.sent_message_id for a in acks] == received[0]["message_ids"]
    states = {m.message_id: state for m, state in await platform.messages("outbound")}
    assert states == {first: "sent", second: "sent"}
    async with sqlite_db.sessions() as session:
        rows = (await session.execute(select(SmscCorrelation))).scalars().all()
    assert {(r.link, r.message_id) for r in rows} == {
        (f"vumigo@127.0.0.1:{smsc.port}", first),
        (f"vumigo@127.0.0.1:{smsc.port}", second),
    }


async def test_mo_is_routed_to_the_conversation_and_answered(
    start_platform: Start, smsc: Smsc
) -> None:
    platform = await start_platform()
    assert await smsc.mo(source=PHONE, destination=TAG, text="hi there") == [0]

    async def replied() -> list[dict[str, Any]]:
        return [r for r in await smsc.received() if r["destination"] == PHONE]

    [reply] = await wait_for(replied)
    assert (reply["source"], reply["text"]) == (TAG, "Thanks")
    [(inbound, state)] = await platform.messages("inbound")
    assert (inbound.from_addr, inbound.to_addr, inbound.content) == (PHONE, TAG, "hi there")
    assert inbound.transport_type == "sms"
    assert inbound.helper_metadata["tag"] == {"tag": ["smpp", TAG]}
    assert inbound.helper_metadata["go"]["conversation_key"] == platform.channel.conv
    assert state == "processed"


async def test_mo_to_an_address_with_a_plus_finds_the_tag(
    start_platform: Start, smsc: Smsc
) -> None:
    platform = await start_platform()
    await smsc.mo(source=PHONE, destination="+" + TAG, text="plus")
    [(inbound, _)] = await wait_for(lambda: platform.messages("inbound"))
    assert inbound.to_addr == TAG


async def test_long_and_ucs2_messages_are_split_and_reassembled(
    start_platform: Start, smsc: Smsc
) -> None:
    platform = await start_platform()
    sent = [await platform.send(PHONE, text) for text in (LONG_GSM, LONG_UCS2)]
    for message_id in sent:
        await platform.wait_events(message_id, "ack")
    received = await smsc.received()
    assert sorted((r["text"], r["parts"], r["data_coding"]) for r in received) == [
        (LONG_GSM, 2, 0),
        (LONG_UCS2, 2, 8),
    ]

    # MO the other way: the simulator splits them with UDH, the client puts them back.
    await smsc.mo(source="27820000009", destination=TAG, text=LONG_GSM)
    await smsc.mo(source="27820000009", destination=TAG, text=LONG_UCS2)

    async def both_in() -> list[str | None]:
        found = [m.content for m, _ in await platform.messages("inbound")]
        return found if len(found) == 2 else []

    assert sorted(await wait_for(both_in)) == [LONG_GSM, LONG_UCS2]


async def test_throttling_slows_down_and_loses_nothing(start_platform: Start, smsc: Smsc) -> None:
    platform = await start_platform(window=5)
    await smsc.mode(throttle=6, dlr=False)
    texts = [f"message {n}" for n in range(20)]
    ids = [await platform.send(PHONE, text) for text in texts]
    for message_id in ids:
        await platform.wait_events(message_id, "ack")
    received = [r["text"] for r in await smsc.received()]
    assert sorted(received) == sorted(texts)  # each once, none lost
    stats = await smsc.stats()
    assert stats["submit_sm_resp"]["ESME_RTHROTTLED"] == 6
    health = platform.transport("smpp_test").health()
    assert health["pools"]["smpp"]["counters"]["throttled"] == 6
    assert health["queue_depth"] == 0
    for message_id in ids:
        assert await platform.event_types(message_id) == ["ack"]


async def test_dropped_connection_loses_nothing_and_resends_nothing_acked(
    start_platform: Start, smsc: Smsc
) -> None:
    platform = await start_platform(window=4)
    await smsc.mode(drop_after=5, dlr=False)
    texts = [f"drop test {n}" for n in range(16)]
    ids = [await platform.send(PHONE, text) for text in texts]
    for message_id in ids:
        await platform.wait_events(message_id, "ack", timeout=15)

    stats = await smsc.stats()
    assert stats["drops"] == 1
    assert stats["binds"]["transceiver"] == 2
    received = [r["text"] for r in await smsc.received()]
    assert sorted(received) == sorted(texts)  # all arrived, and none twice
    for message_id in ids:
        assert await platform.event_types(message_id) == ["ack"]
    health = platform.transport("smpp_test").health()["pools"]["smpp"]
    assert health["counters"]["connections_lost"] == 1
    assert health["counters"]["segments_requeued"] >= 1


async def test_enquire_link_both_ways(start_platform: Start, smsc: Smsc) -> None:
    await start_platform(enquire_link_interval=0.1)
    await smsc.mode(enquire_link_interval_ms=100)

    async def exchanged() -> bool:
        stats = await smsc.stats()
        return stats["enquire_link_received"] >= 2 and stats["enquire_link_resp_received"] >= 2

    await wait_for(exchanged, 5)


async def test_unbind_from_the_smsc_rebinds_and_stop_unbinds(
    start_platform: Start, smsc: Smsc
) -> None:
    platform = await start_platform()
    await smsc.post("/unbind")

    async def rebound() -> bool:
        return (await smsc.stats())["binds"]["transceiver"] >= 2

    await wait_for(rebound, 5)
    message_id = await platform.send(PHONE, "after the unbind")
    await platform.wait_events(message_id, "ack", "delivery_report.delivered")
    await platform.stop()
    assert (await smsc.stats())["unbind_received"] == 1


async def test_receipts_match_after_a_restart_with_hex_and_decimal_ids(
    start_platform: Start, smsc: Smsc
) -> None:
    # submit_sm_resp says "a" while the receipt text (without TLVs) says "10".
    await smsc.mode(
        id_format="hex", receipt_id_format="decimal", receipt_tlvs=False, dlr_delay_ms=600
    )
    platform = await start_platform(submit_id_base="hex", receipt_id_base="decimal")
    ids = [await platform.send(PHONE, f"restart {n}") for n in range(12)]
    for message_id in ids:
        await platform.wait_events(message_id, "ack")
    await platform.stop()  # before the receipts come

    again = await start_platform()
    for message_id in ids:
        await again.wait_events(message_id, "delivery_report.delivered")
    assert max(int(r["message_ids"][0], 16) for r in await smsc.received()) >= 12


async def test_message_the_smsc_never_answered_is_sent_again_after_restart(
    start_platform: Start, smsc: Smsc
) -> None:
    await smsc.mode(delay_ms=30_000, dlr=False)
    platform = await start_platform()
    message_id = await platform.send(PHONE, "unanswered")

    async def submitted() -> bool:
        return (await smsc.stats())["submit_sm"] == 1

    await wait_for(submitted)
    await platform.stop()
    [(_, state)] = await platform.messages("outbound")
    assert state == "sending"

    await smsc.mode(delay_ms=0)
    again = await start_platform()
    await again.wait_events(message_id, "ack")
    [(_, state)] = await again.messages("outbound")
    assert state == "sent"
    assert await again.event_types(message_id) == ["ack"]


async def test_ussd_over_smpp(start_platform: Start, smsc: Smsc) -> None:
    platform = await start_platform(ussd=True)
    await smsc.mo(
        source=PHONE,
        destination="*120*7#",
        text="*120*7#",
        ussd_service_op=1,
        its_session_info=0x0500,
    )

    async def replied() -> list[dict[str, Any]]:
        return [r for r in await smsc.received() if r["destination"] == PHONE]

    [reply] = await wait_for(replied)
    assert reply["text"] == "Thanks"
    assert reply["ussd_service_op"] == 17  # PSSR response: the session ends
    assert reply["its_session_info"] == 0x0500 | 0x02 | 0x01  # same session, next seq, end
    [(inbound, _)] = await platform.messages("inbound")
    assert (inbound.transport_type, inbound.session_event) == ("ussd", "new")


async def test_bad_settings_are_reported_and_its_messages_nacked(
    start_platform: Start, smsc: Smsc
) -> None:
    platform = await start_platform(bind=False, windw=5)
    health = platform.transport("smpp_test").health()
    assert health["connected"] is False
    assert "smpp.windw" in health["pools"]["smpp"]["error"]
    message_id = await platform.send(PHONE, "nowhere")
    await platform.wait_events(message_id, "nack")
    [nack] = await platform.events(message_id)
    assert "smpp.windw" in str(nack.nack_reason)
    [(_, state)] = await platform.messages("outbound")
    assert state == "failed"
