"""How sandbox processes are launched: argv, uids, namespaces, and honest fallbacks."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from vumigo.sandbox import SandboxSettings
from vumigo.sandbox import isolation as iso
from vumigo.sandbox.isolation import IsolationUnavailable, UidAllocator, launch_plan
from vumigo.sandbox.limits import SANDBOXER_JS, MiB, ResourceLimits

from .helpers import Harness, example_app, user_message

PID_APP = "api.on_inbound_message = function () { api.log_info('hi', api.done); };"


def proc_status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return " ".join(line.split()[1:2])
    raise KeyError(field)


def test_argv_grants_reads_of_runtime_and_modules_only(sandbox_settings: SandboxSettings) -> None:
    argv = launch_plan(sandbox_settings).argv
    grants = [a for a in argv if a.startswith("--allow-")]
    assert grants == [
        f"--allow-fs-read={SANDBOXER_JS.parent}/",
        f"--allow-fs-read={sandbox_settings.modules_dir.resolve()}/",
    ]
    assert "--experimental-permission" in argv
    assert f"--max-old-space-size={sandbox_settings.heap_mb}" in argv
    assert "--single-threaded-gc" in argv
    assert argv[-1] == "--modules=vumigo_v02,q,jed,lodash,moment"


def test_extra_modules_are_whitelisted(sandbox_settings: SandboxSettings) -> None:
    argv = launch_plan(replace(sandbox_settings, extra_modules=("go-jsbox-location", "q"))).argv
    assert argv[-1] == "--modules=vumigo_v02,q,jed,lodash,moment,go-jsbox-location"
    with pytest.raises(ValueError):
        replace(sandbox_settings, extra_modules=("a,b",))


def test_limits_below_node_20_floors_are_refused() -> None:
    with pytest.raises(ValueError):
        ResourceLimits(address_space=1024 * MiB)
    with pytest.raises(ValueError):
        ResourceLimits(open_files=15)


def test_uid_allocator_never_hands_out_a_live_uid() -> None:
    uids = UidAllocator(100, 103)
    first = [uids.acquire() for _ in range(3)]
    assert sorted(first) == [100, 101, 102]
    with pytest.raises(RuntimeError):
        uids.acquire()
    uids.release(101)
    assert uids.acquire() == 101


def test_hidden_paths_skip_what_node_needs(
    sandbox_settings: SandboxSettings, tmp_path: Path
) -> None:
    hidden = iso._hidden_paths(
        replace(
            sandbox_settings,
            hidden_paths=("/tmp", "/run", "/var/run", "/nonexistent", "/"),
            modules_dir=tmp_path,
        )
    )
    # /tmp holds the modules here, /var/run is /run, and missing paths and / are skipped.
    assert b"/tmp" not in hidden and hidden.count(b"/run") == 1
    assert b"/nonexistent" not in hidden and b"/" not in hidden


def test_network_required_but_unavailable(
    sandbox_settings: SandboxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(iso, "namespaces_available", lambda flags: False)
    with pytest.raises(IsolationUnavailable):
        launch_plan(replace(sandbox_settings, network="require"))
    report = launch_plan(sandbox_settings).report
    assert not report.network_namespace and not report.mount_namespace
    assert any("network isolation" in item for item in report.not_enforced)


@pytest.mark.skipif(os.geteuid() != 0, reason="uids and namespaces need root")
async def test_processes_run_as_distinct_uids_in_their_own_namespaces(harness: Harness) -> None:
    pids = []
    for account in ("a1", "a2"):
        result = await harness.run(account, PID_APP, user_message("x"))
        assert result.ok and result.pid is not None
        pids.append(result.pid)
    uids = {int(proc_status(pid, "Uid")) for pid in pids}
    assert len(uids) == 2 and all(200_000 <= uid < 265_536 for uid in uids)
    assert proc_status(pids[0], "Groups") == ""  # no supplementary groups
    assert proc_status(pids[0], "NoNewPrivs") == "1"
    report = harness.manager.isolation
    for pid in pids:
        for ns, isolated in (("net", report.network_namespace), ("mnt", report.mount_namespace)):
            mine = os.readlink(f"/proc/self/ns/{ns}")
            assert (os.readlink(f"/proc/{pid}/ns/{ns}") != mine) == isolated
        assert Path(f"/proc/{pid}/environ").read_bytes() == b""


async def test_warm_process_keeps_clear_of_the_address_space_limit(harness: Harness) -> None:
    # Node 20 reserves ~1.06 GB up front; under a 1 GiB RLIMIT_AS a warm process aborted with
    # std::bad_alloc after a few hundred messages. Keep a wide margin.
    app = example_app("simple")
    pids = set()
    for i in range(40):
        result = await harness.run("acct", app, user_message(None if i % 2 == 0 else "1"))
        assert result.ok and result.pid is not None
        pids.add(result.pid)
    (pid,) = pids
    limit = harness.manager.settings.rlimits.address_space
    assert limit is not None
    peak_kb = int(proc_status(pid, "VmPeak"))
    assert peak_kb * 1024 < 0.75 * limit
