"""Settings of one SMPP bind (or transmitter+receiver pair) to one SMSC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BindMode = Literal["transceiver", "transmitter+receiver"]
LongMessages = Literal["udh", "payload"]
IdBase = Literal["text", "hex", "decimal"]
BindRole = Literal["transceiver", "transmitter", "receiver"]

# Field limits from SMPP 3.4 §4.1 (sizes include the terminating NUL).
_MAX_SYSTEM_ID = 15
_MAX_PASSWORD = 8
_MAX_SYSTEM_TYPE = 12
_MAX_SERVICE_TYPE = 5


@dataclass(frozen=True, slots=True)
class SmppConfig:
    """Everything the ESME session needs; defaults suit a local SMSC simulator."""

    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    # Some SMSCs refuse binds without an address range; most ignore it.
    address_range: str = ""
    bind_mode: BindMode = "transceiver"

    # Outbound pacing: at most `window` submit_sm without a submit_sm_resp, and at most `mt_tps`
    # submit_sm a second (0 = no limit). One bind rarely takes more than 100-150 msg/s.
    window: int = 10
    mt_tps: float = 0.0
    # submit() waits while this many segments are queued, so a slow SMSC pushes back on callers.
    max_queue: int = 10_000

    enquire_link_interval: float = 30.0
    # How long any *_resp may take before the connection is presumed dead and re-made.
    response_timeout: float = 30.0
    connect_timeout: float = 10.0

    # Text longer than one SMS: UDH parts (8-bit reference) or one PDU with message_payload.
    long_messages: LongMessages = "udh"
    # Preferred data_coding for text it can carry: 0 GSM 03.38, 1 IA5/ASCII, 3 Latin-1.
    # Text outside that alphabet goes out as UCS-2 (8).
    data_coding: int = 0
    source_ton: int = 0
    source_npi: int = 0
    dest_ton: int = 1
    dest_npi: int = 1
    service_type: str = ""
    # 1 = ask for a receipt on final delivery or failure; 0 = none.
    registered_delivery: int = 1

    # Reconnect with exponential back-off between these bounds (seconds).
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0

    # ESME_RTHROTTLED / ESME_RMSGQFUL: pause this long (doubling while they keep coming, up to the
    # max), halve the window and the rate, then creep back up as submits succeed.
    throttle_delay: float = 0.1
    throttle_delay_max: float = 5.0
    throttle_min_tps: float = 1.0

    # SMSCs disagree on the form of their ids: submit_sm_resp may say "3e8" (hex) while the
    # receipt text says "1000" (decimal). "text" compares ids as they are written; naming both
    # bases compares them as numbers. (receipted_message_id is read like submit_sm_resp's id.)
    submit_id_base: IdBase = "text"
    receipt_id_base: IdBase = "text"

    # Parts of a multipart MO are kept this long waiting for the rest (seconds).
    multipart_timeout: float = 300.0

    # USSD over SMPP: read ussd_service_op / its_session_info on deliver_sm as session events,
    # and send them on submit_sm when a session_event is given.
    ussd: bool = False
    ussd_service_type: str = "USSD"

    max_pdu_length: int = 65_536

    # deliver_sm handled at once. Above 1, the callbacks of several run concurrently, so an
    # owner that stores each one can share commits; MO order between them is not kept.
    inbound_concurrency: int = 1

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid SMPP config: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        found: list[str] = []
        limits = {
            "system_id": (self.system_id, _MAX_SYSTEM_ID),
            "password": (self.password, _MAX_PASSWORD),
            "system_type": (self.system_type, _MAX_SYSTEM_TYPE),
            "service_type": (self.service_type, _MAX_SERVICE_TYPE),
            "ussd_service_type": (self.ussd_service_type, _MAX_SERVICE_TYPE),
        }
        for name, (value, limit) in limits.items():
            if len(value) > limit:
                found.append(f"{name} is longer than {limit} characters")
        if not 0 < self.port < 65_536:
            found.append("port must be 1-65535")
        if self.window < 1:
            found.append("window must be at least 1")
        if self.mt_tps < 0:
            found.append("mt_tps must be 0 (unlimited) or more")
        if self.max_queue < 1:
            found.append("max_queue must be at least 1")
        if not 0 < self.reconnect_min <= self.reconnect_max:
            found.append("need 0 < reconnect_min <= reconnect_max")
        if not 0 < self.throttle_delay <= self.throttle_delay_max:
            found.append("need 0 < throttle_delay <= throttle_delay_max")
        if self.throttle_min_tps <= 0:
            found.append("throttle_min_tps must be positive")
        if self.response_timeout <= 0 or self.connect_timeout <= 0:
            found.append("timeouts must be positive")
        if self.enquire_link_interval < 0:
            found.append("enquire_link_interval must be 0 (off) or more")
        if self.data_coding not in (0, 1, 3, 8):
            found.append("data_coding must be 0 (GSM), 1 (ASCII), 3 (Latin-1) or 8 (UCS-2)")
        if self.inbound_concurrency < 1:
            found.append("inbound_concurrency must be at least 1")
        if self.max_pdu_length < 1024:
            found.append("max_pdu_length must be at least 1024")
        return found

    @property
    def bind_roles(self) -> tuple[BindRole, ...]:
        """The binds this config makes: one transceiver, or a transmitter and a receiver."""
        if self.bind_mode == "transceiver":
            return ("transceiver",)
        return ("transmitter", "receiver")
