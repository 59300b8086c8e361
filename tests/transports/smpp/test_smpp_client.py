"""SmppClient against the SMSC simulator: binds, MT with receipts, MO, long messages, USSD,
enquire_link and unbind. Faults (throttling, drops, rejects) are in test_smpp_client_faults.py."""

from __future__ import annotations

import asyncio

import pytest

from .smpp_harness import MakeClient, Smsc

RECEIPT_DELIVERED = {"status": "delivered", "smsc_status": "DELIVRD", "error_code": "000"}


@pytest.mark.parametrize("bind_mode", ["transceiver", "transmitter+receiver"])
async def test_mt_with_receipts_in_both_bind_modes(
    smsc: Smsc, make_client: MakeClient, bind_mode: str
) -> None:
    h = await make_client(bind_mode=bind_mode)
    for n in range(5):
        await h.client.submit(f"our-{n}", "12345", f"2782000000{n}", f"hello {n}")
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("delivery_report")) == 5)

    acks = dict(h.recorder.of_kind("ack"))
    assert sorted(acks) == [f"our-{n}" for n in range(5)]
    reports = h.recorder.of_kind("delivery_report")
    for message_id, details in reports:
        assert details["smsc_id"] == acks[message_id]["smsc_id"]
        assert details.items() >= RECEIPT_DELIVERED.items()

    received = await smsc.received()
    assert [m["text"] for m in received] == [f"hello {n}" for n in range(5)]
    assert received[0]["registered_delivery"] == 1
    assert (received[0]["dest_addr_ton"], received[0]["dest_addr_npi"]) == (1, 1)
    stats = await smsc.stats()
    expected = (
        {"transceiver": 1} if bind_mode == "transceiver" else {"transmitter": 1, "receiver": 1}
    )
    assert {k: v for k, v in stats["binds"].items() if v} == expected
    assert stats["deliver_sm_resp"] == {"ESME_ROK": 5}
    health = h.client.health()
    assert health["bound"] and health["connected"] and health["in_flight"] == 0


async def test_failed_receipt_is_reported_failed(smsc: Smsc, make_client: MakeClient) -> None:
    await smsc.mode(dlr_status="UNDELIV")
    h = await make_client()
    await h.client.submit("doomed", "12345", "27820000001", "never arrives")
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("delivery_report")))
    [(message_id, details)] = h.recorder.of_kind("delivery_report")
    assert message_id == "doomed"
    assert (details["status"], details["smsc_status"], details["error_code"]) == (
        "failed",
        "UNDELIV",
        "001",
    )


@pytest.mark.parametrize(
    ("settings", "config"),
    [
        # hex in submit_sm_resp, decimal in the receipt text, no TLVs: the usual mismatch
        (
            {"id_format": "hex", "receipt_id_format": "decimal"},
            {"submit_id_base": "hex", "receipt_id_base": "decimal"},
        ),
        (
            {"id_format": "decimal", "receipt_id_format": "hex"},
            {"submit_id_base": "decimal", "receipt_id_base": "hex"},
        ),
        ({"id_format": "hex", "receipt_id_format": "hex"}, {}),
    ],
)
async def test_receipt_ids_in_another_base_still_match(
    smsc: Smsc, make_client: MakeClient, settings: dict[str, str], config: dict[str, str]
) -> None:
    await smsc.mode(receipt_tlvs=False, **settings)
    h = await make_client(**config)
    for n in range(3):
        await h.client.submit(f"m{n}", "12345", "27820000001", f"text {n}")
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("delivery_report")) == 3)
    assert sorted(m for m, _ in h.recorder.of_kind("delivery_report")) == ["m0", "m1", "m2"]
    assert h.client.counters["receipts_unmatched"] == 0


async def test_receipt_recognised_by_text_alone(smsc: Smsc, make_client: MakeClient) -> None:
    await smsc.mode(dlr=False)
    h = await make_client()
    await h.client.submit("plain", "12345", "27820000001", "hi")
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("ack")))
    smsc_id = h.recorder.of_kind("ack")[0][1]["smsc_id"]
    text = (
        f"id:{smsc_id} sub:001 dlvrd:001 submit date:2611280405 done date:2611280406 "
        "stat:DELIVRD err:000 text:"
    )
    assert await smsc.post("/deliver", {"esm_class": 0, "text": text}) == {"statuses": [0]}
    assert [m for m, _ in h.recorder.of_kind("delivery_report")] == ["plain"]
    assert h.recorder.inbound == []


async def test_mo_messages(smsc: Smsc, make_client: MakeClient) -> None:
    h = await make_client()
    assert await smsc.mo(source="27821111111", destination="12345", text="hello {world} €") == [0]
    assert await smsc.mo(source="27822222222", destination="12345", text="Привет мир") == [0]
    [(src1, dst1, text1, d1), (src2, _, text2, d2)] = h.recorder.inbound
    assert (src1, dst1, text1, d1["data_coding"], d1["parts"]) == (
        "27821111111",
        "12345",
        "hello {world} €",
        0,
        1,
    )
    assert (src2, text2, d2["data_coding"]) == ("27822222222", "Привет мир", 8)


@pytest.mark.parametrize("split", ["udh", "udh16", "sar", "payload"])
@pytest.mark.parametrize("text", ["long GSM text € {} " * 20, "длинный текст " * 20])
async def test_multipart_mo_is_reassembled(
    smsc: Smsc, make_client: MakeClient, split: str, text: str
) -> None:
    h = await make_client()
    statuses = await smsc.mo(source="27821111111", text=text, split=split)
    assert set(statuses) == {0}
    [(_, _, content, details)] = h.recorder.inbound
    assert content == text
    assert details["parts"] == len(statuses) if split != "payload" else 1
    assert h.client.health()["mo_parts_pending"] == 0


@pytest.mark.parametrize(
    ("text", "coding", "parts"),
    [
        ("a" * 160, 0, 1),
        ("Long GSM message with {braces} and € signs. " * 5, 0, 2),
        ("a" * 459, 0, 3),
        ("Ünïcödé ✓ " * 7, 8, 1),
        ("Ünïcödé ✓ " * 8, 8, 2),
        ("日本語のメッセージ😀" * 20, 8, 4),
    ],
)
async def test_long_mt_is_split_and_reassembled_by_the_smsc(
    smsc: Smsc, make_client: MakeClient, text: str, coding: int, parts: int
) -> None:
    h = await make_client()
    await h.client.submit("long", "12345", "27820000001", text)
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("ack")))
    [message] = await smsc.received()
    assert (message["text"], message["data_coding"], message["parts"]) == (text, coding, parts)
    assert message["concat"] == ("udh8" if parts > 1 else "none")
    [(_, ack)] = h.recorder.of_kind("ack")
    assert ack["smsc_ids"] == message["message_ids"]
    # every part's receipt is matched to our message
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("delivery_report")) == parts)
    assert {m for m, _ in h.recorder.of_kind("delivery_report")} == {"long"}


async def test_long_mt_as_message_payload(smsc: Smsc, make_client: MakeClient) -> None:
    h = await make_client(long_messages="payload")
    text = "payload " * 60
    await h.client.submit("p", "12345", "27820000001", text)
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("ack")))
    [message] = await smsc.received()
    assert (message["text"], message["concat"], message["parts"]) == (text, "payload", 1)


async def test_ussd_session_over_smpp(smsc: Smsc, make_client: MakeClient) -> None:
    h = await make_client(ussd=True)
    user = "27823333333"
    ussd = {"source": user, "destination": "*120#", "service_type": "USSD"}
    await smsc.mo(text="*120#", ussd_service_op=1, its_session_info=0x0700, **ussd)
    await h.client.submit("menu", "*120#", user, "1. News\n2. Quit", session_event="resume")
    await smsc.mo(text="2", ussd_service_op=18, its_session_info=0x0702, **ussd)
    await h.client.submit("bye", "*120#", user, "Goodbye", session_event="close")
    await h.recorder.wait_until(lambda: len(h.recorder.of_kind("ack")) == 2)

    events = [
        (content, d["session_event"], d["ussd_session_info"])
        for *_, content, d in h.recorder.inbound
    ]
    assert events == [("*120#", "new", 0x0700), ("2", "resume", 0x0702)]
    menu, bye = await smsc.received()
    assert (menu["service_type"], menu["ussd_service_op"], menu["its_session_info"]) == (
        "USSD",
        2,
        0x0702,
    )
    assert (bye["ussd_service_op"], bye["its_session_info"]) == (17, 0x0705)


async def test_enquire_link_both_ways(smsc: Smsc, make_client: MakeClient) -> None:
    await smsc.mode(enquire_link_interval_ms=50)
    h = await make_client(enquire_link_interval=0.05)
    await h.recorder.wait_until(
        lambda: (
            h.client.counters["enquire_link_sent"] >= 3
            and h.client.counters["enquire_link_received"] >= 3
        )
    )
    stats = await smsc.stats()
    assert stats["enquire_link_received"] >= 2
    assert stats["enquire_link_resp_received"] >= 2
    assert h.client.health()["bound"]


async def test_stop_unbinds_cleanly(smsc: Smsc, make_client: MakeClient) -> None:
    h = await make_client(bind_mode="transmitter+receiver")
    await h.client.submit("last", "12345", "27820000001", "bye")
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("ack")))
    assert await h.client.stop() == []
    stats = await smsc.stats()
    assert stats["unbind_received"] == 2
    for _ in range(100):  # the SMSC notices the sockets closing a moment later
        if not (await smsc.stats())["sessions"]:
            break
        await asyncio.sleep(0.01)
    assert (await smsc.stats())["sessions"] == []
    health = h.client.health()
    assert not health["connected"] and not health["bound"]
    with pytest.raises(RuntimeError):
        await h.client.submit("late", "12345", "27820000001", "too late")


async def test_smsc_unbind_makes_the_client_bind_again(smsc: Smsc, make_client: MakeClient) -> None:
    h = await make_client()
    await smsc.post("/unbind")
    await h.recorder.wait_until(lambda: h.client.counters["binds_transceiver"] == 2)
    await h.client.wait_bound(2)
    await h.client.submit("after", "12345", "27820000001", "still here")
    await h.recorder.wait_until(lambda: bool(h.recorder.of_kind("delivery_report")))
    assert h.client.counters["unbind_received"] == 1
