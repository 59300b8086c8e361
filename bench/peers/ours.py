"""Our side of the comparison: ``vumigo serve`` in embedded mode, one process.

``seed`` prepares its SQLite database: an account holding tag 12345 of a pool whose transport is
SMPP (one transceiver bind to the simulator), routed both ways to an ``http_api_nostream``
conversation with an API token and a push URL for MO messages. ``Ours.start`` runs
``vumigo serve`` on it in a child process, as an operator would.

Settings chosen, and why (printed with the results; see docs/benchmarks.md):

- embedded mode (SQLite file, in-process bus, one process): on 2 cores, shared with the load
  and the simulator, one process beats the distributed roles, which add RabbitMQ and PostgreSQL;
- ``smpp.window`` 10 (the default): submit_sm in flight on the bind;
- ``smpp.registered_delivery`` 0: no receipts asked for, as Jasmin's HTTP API sends none unless
  the request says ``dlr=yes``;
- HTTP API per-account open-request limit lifted (``CONCURRENCY_LIMIT=-1``; default 10, which
  would answer some of 50 concurrent clients with 429);
- push: 127.0.0.1 allowed as a destination (push URLs are refused on loopback by default),
  ``MAX_PENDING`` raised to the number of MO sent, ``PUSH_CONCURRENCY`` 16 (the default);
- log level WARNING.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services import free_port, wait_port

from vumigo.apps.http_api.config import new_token
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade
from vumigo.db.models import Account, Conversation, RoutingEntry, Tag, TagPool

TAG = "12345"
SYSTEM_ID = "vumigo"
CONV_TYPE = "http_api_nostream"


def settings(window: int) -> str:
    return (
        "vumigo serve, embedded (SQLite, in-process bus, 1 process): one SMPP transceiver, "
        f"window {window}, no receipts asked for; HTTP API concurrency limit lifted; "
        "push to 127.0.0.1 allowed, 16 pushes in flight; log level WARNING"
    )


async def seed(db_url: str, smsc_port: int, window: int, push_url: str) -> tuple[str, str, str]:
    """The account, conversation and token the load uses."""
    db = Database(db_url)
    try:
        await upgrade(db)
        token, digest = new_token()
        meta = {
            "transport_type": "smpp",
            "transport_name": "smpp_bench",
            "smpp.port": smsc_port,
            "smpp.system_id": SYSTEM_ID,
            "smpp.window": window,
            "smpp.registered_delivery": 0,
            "smpp.max_queue": 100_000,
        }
        async with db.transaction() as session:
            account = Account(name="bench")
            session.add(account)
            session.add(TagPool(name="smpp", meta=meta))
            await session.flush()
            session.add(Tag(pool="smpp", tag=TAG, owner=account.key, acquired_at=utcnow()))
            conv = Conversation(
                account_key=account.key,
                conversation_type=CONV_TYPE,
                name="bench",
                config={
                    CONV_TYPE: {
                        "api_tokens": [digest],
                        "push_message_url": push_url,
                        "ignore_events": True,
                    }
                },
                status="running",
            )
            session.add(conv)
            await session.flush()
            tag, conn = f"TRANSPORT_TAG:smpp:{TAG}", f"CONVERSATION:{CONV_TYPE}:{conv.key}"
            for source, target in ((tag, conn), (conn, tag)):
                session.add(
                    RoutingEntry(
                        account_key=account.key,
                        source_connector=source,
                        source_endpoint="default",
                        target_connector=target,
                        target_endpoint="default",
                    )
                )
            return account.key, conv.key, token
    finally:
        await db.dispose()


class Ours:
    def __init__(self, data_dir: Path, max_pending: int) -> None:
        self.data_dir = data_dir
        self.db_url = f"sqlite+aiosqlite:///{data_dir / 'vumigo.db'}"
        self.port = free_port()
        self.max_pending = max_pending
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pids(self) -> list[int]:
        return [self.process.pid] if self.process else []

    def start(self) -> None:
        env = {
            **os.environ,
            "VUMIGO_DATA_DIR": str(self.data_dir),
            "VUMIGO_DATABASE_URL": self.db_url,
            "VUMIGO_LOG_LEVEL": "WARNING",
            "VUMIGO_HTTP_API_CONCURRENCY_LIMIT": "-1",
            "VUMIGO_HTTP_API_PUSH_ALLOW": "127.0.0.1",
            "VUMIGO_HTTP_API_MAX_PENDING": str(self.max_pending),
        }
        vumigo = Path(sys.executable).parent / "vumigo"
        log = open(self.data_dir / "serve.log", "ab")  # noqa: SIM115 (the server keeps it open)
        self.process = subprocess.Popen(
            [str(vumigo), "serve", "--port", str(self.port)], env=env, stdout=log, stderr=log
        )
        process = self.process
        wait_port(self.port, 60, "vumigo serve", lambda: process.poll() is None)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
