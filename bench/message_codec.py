"""Time Vumi message encode+decode round trips against bare json.dumps/json.loads.

Usage: .venv/bin/python bench/message_codec.py [round_trips]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from vumigo.message import UserMessage, from_json


def _sample() -> UserMessage:
    """A typical inbound USSD message as Go sees it, metadata included."""
    return UserMessage(
        to_addr="*120*1234#",
        from_addr="+27761234567",
        from_addr_type="msisdn",
        transport_name="ussd_transport",
        transport_type="ussd",
        content="Hello from Đà Nẵng",
        session_event="resume",
        provider="mtn",
        transport_metadata={"session_id": "a1b2c3"},
        helper_metadata={
            "go": {"user_account": "acc-1", "conversation_type": "jsbox", "conversation_key": "k"},
            "tag": {"tag": ["ussd_pool", "*120*1234#"]},
        },
        routing_metadata={
            "endpoint_name": "default",
            "go_hops": [[["TRANSPORT_TAG:ussd_pool:*120*1234#", "default"], ["CONV:k", "x"]]],
        },
    )


def _rate(round_trip: Callable[[], object], count: int) -> float:
    """Round trips per second, best of three runs to damp noise."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(count):
            round_trip()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    msg = _sample()
    plain = msg.to_dict()  # the same payload, timestamp already a string

    codec = _rate(lambda: from_json(msg.to_json()), count)
    baseline = _rate(lambda: json.loads(json.dumps(plain)), count)

    print(f"{count:,} encode+decode round trips, best of 3")
    print(f"  vumigo.message   {codec:12,.0f} msg/s")
    print(f"  json baseline    {baseline:12,.0f} msg/s")
    print(f"  ratio            {codec / baseline:12.2f} (codec / baseline)")


if __name__ == "__main__":
    main()
