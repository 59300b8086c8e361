"""The Graphite exporter against a real carbon-cache (Debian's graphite-carbon) on loopback:
what it sends is read back from carbon's whisper files."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.metrics.helpers import put_points
from tests.support.factories import make_account, make_conversation
from tests.support.live import free_port
from vumigo.db.engine import Database
from vumigo.metrics.graphite import GraphiteExporter
from vumigo.metrics.names import Series
from vumigo.metrics.rollup import Rollup
from vumigo.store.batches import batch_key
from vumigo.store.counters import bump

CARBON = shutil.which("carbon-cache")
pytestmark = pytest.mark.skipif(
    CARBON is None, reason="needs carbon-cache: apt-get install graphite-carbon"
)
whisper = pytest.importorskip("whisper", reason="needs the whisper package to read carbon's files")

CONF = """[cache]
STORAGE_DIR = {root}/storage/
LOCAL_DATA_DIR = {root}/storage/whisper/
WHITELISTS_DIR = {root}/storage/lists/
CONF_DIR = {root}/conf/
LOG_DIR = {root}/log/
PID_DIR = {root}/run/
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {line}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {pickle}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {query}
WHISPER_AUTOFLUSH = True
"""
SCHEMAS = "[default]\npattern = .*\nretentions = 60s:7d\n"


@dataclass
class Carbon:
    port: int
    whisper_dir: Path

    def wait_for(self, path: str, timeout: float = 20.0) -> Path:
        found = self.whisper_dir / (path.replace(".", "/") + ".wsp")
        deadline = time.monotonic() + timeout
        while not found.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert found.exists(), f"carbon wrote no {found}"
        return found


@pytest.fixture
def carbon(tmp_path: Path) -> Iterator[Carbon]:
    root = tmp_path / "carbon"
    for folder in ("conf", "storage/whisper", "storage/lists", "log", "run"):
        (root / folder).mkdir(parents=True)
    line = free_port()
    conf = root / "conf" / "carbon.conf"
    conf.write_text(CONF.format(root=root, line=line, pickle=free_port(), query=free_port()))
    (root / "conf" / "storage-schemas.conf").write_text(SCHEMAS)
    assert CARBON is not None
    log = (root / "log" / "console.log").open("w")
    proc = subprocess.Popen(
        [
            CARBON,
            f"--config={conf}",
            f"--pidfile={root / 'run' / 'carbon.pid'}",
            "--nodaemon",
            "start",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", line), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, (root / "log" / "console.log").read_text()
                assert time.monotonic() < deadline, "carbon-cache did not open its port"
                time.sleep(0.1)
        yield Carbon(line, root / "storage" / "whisper")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def value_at(path: Path, when: int, timeout: float = 10.0) -> float | None:
    """The file's value for ``when``, once carbon has flushed it (it creates files first)."""
    deadline = time.monotonic() + timeout
    while True:
        (start, _end, step), values = whisper.fetch(str(path), when - 600)
        value: float | None = values[(when - start) // step]
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


async def test_exported_minutes_land_in_carbon(sqlite_db: Database, carbon: Carbon) -> None:
    account, _ = await make_account(sqlite_db)
    conv = await make_conversation(sqlite_db, account, "jsbox")
    minute = int(time.time()) // 60 * 60 - 300
    pings = Series(account, "default", "total_pings", "max")
    await put_points(
        sqlite_db, pings, [(minute + 1, 1200.0), (minute + 20, 1500.0), (minute + 50, 900.0)]
    )
    signups = Series(account, "default", "signups", "sum")
    await put_points(sqlite_db, signups, [(minute + 2, 2.0), (minute + 3, 3.0)])
    async with sqlite_db.transaction() as session:
        batch = await batch_key(session, "conversation", conv, account)
        await bump(session, batch, ["outbound"], 7)
    rollup = Rollup(sqlite_db, exporter=GraphiteExporter("127.0.0.1", carbon.port))
    await rollup.sample_conversations(minute + 30)  # a sample taken in that minute
    report = await rollup.run_once(retention=False)
    assert report.exported >= 2 + 4

    assert value_at(carbon.wait_for(pings.full_name), minute) == 1500.0
    assert value_at(carbon.wait_for(signups.full_name), minute) == 5.0
    sent = f"go.campaigns.{account}.conversations.{conv}.messages_sent.avg"
    assert value_at(carbon.wait_for(sent), minute) == 7.0
    # Nothing is sent twice: the exporter's watermark has moved past these minutes.
    assert (await rollup.run_once(retention=False)).exported == 0


async def test_unreachable_carbon_keeps_the_rows_for_later(sqlite_db: Database) -> None:
    account, _ = await make_account(sqlite_db)
    minute = int(time.time()) // 60 * 60 - 300
    await put_points(sqlite_db, Series(account, "default", "x", "sum"), [(minute + 1, 1.0)])
    closed = GraphiteExporter("127.0.0.1", free_port())
    assert (await Rollup(sqlite_db, exporter=closed).run_once(retention=False)).exported == 0
    received: list[bytes] = []

    async def sink(lines: list[str]) -> None:
        received.extend(line.encode() for line in lines)

    closed.send = sink  # type: ignore[method-assign]
    assert (await Rollup(sqlite_db, exporter=closed).run_once(retention=False)).exported == 1
    assert received == [f"go.campaigns.{account}.stores.default.x.sum 1.0 {minute}\n".encode()]
