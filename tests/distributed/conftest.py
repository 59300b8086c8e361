"""Fixtures for the distributed mode: the platform as worker processes over the test servers.

``cluster`` is one set of processes (web, transports, two dispatchers, two app workers) on a
database of its own on the suite's PostgreSQL and a queue prefix of its own on its RabbitMQ,
shared by the tests of this folder: each test makes its own account, tags and conversations.
``make_cluster`` gives a test processes of its own (on servers of its own, if it asks), for
tests that take a server away. Without the servers (``VUMIGO_TEST_POSTGRES_URL`` and
``VUMIGO_TEST_AMQP_URL``, which `make test` sets) every test here is skipped.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import database_url
from tests.support.cluster import Cluster, MakeCluster
from tests.support.private_servers import PrivatePostgres, PrivateRabbit
from tests.transports.smpp.smpp_harness import Simulator, Smsc, start_simulator, stop_simulator
from vumigo.db.engine import Database

AMQP_URL = os.environ.get("VUMIGO_TEST_AMQP_URL")
POSTGRES_URL = os.environ.get("VUMIGO_TEST_POSTGRES_URL")


def need_servers() -> str:
    """The broker URL; skips the test when `make test`'s servers are not there."""
    if not (AMQP_URL and POSTGRES_URL):
        pytest.skip(
            "the distributed mode needs the PostgreSQL and RabbitMQ that `make test` starts "
            "(VUMIGO_TEST_POSTGRES_URL / VUMIGO_TEST_AMQP_URL unset)"
        )
    return AMQP_URL


@pytest.fixture(scope="package")
def shared_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    amqp_url = need_servers()
    workdir = tmp_path_factory.mktemp("cluster")
    running = Cluster(database_url("postgres", request, workdir), amqp_url, workdir)
    try:
        running.start_all()
        yield running
    finally:
        running.stop()


@pytest.fixture
def cluster(shared_cluster: Cluster) -> Cluster:
    """The shared cluster, every process running (one an earlier test killed is restarted)."""
    for name in list(shared_cluster.procs):
        if not shared_cluster.alive(name):
            shared_cluster.restart(name)
    return shared_cluster


@pytest.fixture
async def cluster_db(cluster: Cluster) -> AsyncIterator[Database]:
    """The shared cluster's database, for this test's event loop."""
    database = Database(cluster.db_url)
    yield database
    await database.dispose()


@pytest.fixture
def own_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database on the suite's PostgreSQL, for a cluster of the test's own."""
    need_servers()
    return database_url("postgres", request, tmp_path)


@pytest.fixture
def make_cluster(own_db_url: str, tmp_path: Path) -> Iterator[MakeCluster]:
    """Makes clusters of the test's own (not started); each is stopped after the test.

    ``make_cluster(db_url=..., amqp_url=..., env=...)``: on ``own_db_url`` and the suite's
    RabbitMQ unless other servers are given."""
    amqp = need_servers()
    made: list[Cluster] = []

    def make(
        db_url: str | None = None, amqp_url: str | None = None, env: dict[str, str] | None = None
    ) -> Cluster:
        workdir = tmp_path / f"cluster{len(made)}"
        made.append(Cluster(db_url or own_db_url, amqp_url or amqp, workdir, env))
        return made[-1]

    yield make
    for running in made:
        running.stop()


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the test's own, running, which the test may stop and start."""
    need_servers()
    server = PrivatePostgres()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def own_rabbit() -> Iterator[PrivateRabbit]:
    """A RabbitMQ node of the test's own, running, which the test may stop and start."""
    need_servers()
    server = PrivateRabbit()
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="package")
def smsc_process() -> Iterator[Simulator]:
    """The SMSC simulator the shared cluster's SMPP pools bind to."""
    running = start_simulator()
    yield running
    stop_simulator(running)


@pytest.fixture
def own_simulator() -> Iterator[Simulator]:
    """A simulator of the test's own, for a cluster of its own: receipts and MOs go to
    whichever ESME is bound, so two clusters must not share one."""
    need_servers()
    running = start_simulator()
    yield running
    stop_simulator(running)


@pytest.fixture
async def smsc(smsc_process: Simulator) -> AsyncIterator[Smsc]:
    async with httpx.AsyncClient(base_url=smsc_process.control_url, timeout=30) as http:
        control = Smsc(smsc_process, http)
        await control.post("/reset")
        yield control
