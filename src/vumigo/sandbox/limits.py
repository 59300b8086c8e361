"""Limits and settings of the sandbox runtime: one frozen object the pool, process and isolation
code read from.

Defaults follow the original's deployed values where they still work with node 20, and differ
where they do not (see ``reference/sandbox-protocol.md`` §5):

- ``RLIMIT_AS`` 2 GiB: node 20 reserves about 1.06 GB of address space whatever its heap size
  (VmPeak, measured), dies at start-up below about 768 MiB, and a warm process under 1 GiB
  aborts with ``std::bad_alloc`` after a few hundred messages. The original used 196-256 MiB.
  Heap bombs are stopped by the V8 heap cap (``heap_mb``) long before; the address-space limit
  stops buffer (off-heap) bombs at about 1 GB.
- ``RLIMIT_NOFILE`` 64: node 20 crashes below 19 (the original used 15).
- ``RLIMIT_CPU`` is per process, and a warm process serves many messages, so it is a backstop
  well above the per-message wall-clock ``timeout``; a process is recycled after
  ``messages_per_process`` messages anyway.
- The output cap (the original's ``recv_limit``, 1 MiB per process) is per message here.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MiB = 1024 * 1024

#: Modules every app may ``require``: the toolkit and its dependencies.
DEFAULT_MODULES: tuple[str, ...] = ("vumigo_v02", "q", "jed", "lodash", "moment")

SANDBOXER_JS = Path(__file__).with_name("sandboxer.js")


def find_modules_dir(start: Path | None = None) -> Path:
    """The nearest ``node_modules`` holding vumigo_v02, from ``start`` (default: this package)
    upwards, else ``./node_modules``."""
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "node_modules"
        if (candidate / "vumigo_v02").is_dir():
            return candidate
    return Path.cwd() / "node_modules"


@dataclass(frozen=True)
class ResourceLimits:
    """rlimits applied to every sandbox process (soft = hard). ``None`` leaves one unset."""

    address_space: int | None = 2048 * MiB
    cpu_seconds: int | None = 300
    open_files: int | None = 64
    file_size: int | None = 1 * MiB
    core: int | None = 0
    stack: int | None = 8 * MiB

    def __post_init__(self) -> None:
        # Values below these make node 20 crash at start-up in ways that look like app bugs.
        if self.address_space is not None and self.address_space < 1280 * MiB:
            raise ValueError(
                "address_space below 1.25 GiB: node 20 reserves ~1.06 GB and warm processes "
                "would abort with bad_alloc"
            )
        if self.open_files is not None and self.open_files < 32:
            raise ValueError("open_files must be at least 32 for node 20")


NetworkMode = Literal["auto", "require", "off"]


@dataclass(frozen=True)
class SandboxSettings:
    """Everything the sandbox runtime can be told."""

    node: str = field(default_factory=lambda: shutil.which("node") or "/usr/bin/node")
    modules_dir: Path = field(default_factory=find_modules_dir)
    #: Modules apps may ``require`` besides :data:`DEFAULT_MODULES` (e.g. ``go-jsbox-location``);
    #: they must live in ``modules_dir``.
    extra_modules: tuple[str, ...] = ()
    #: Wall-clock seconds one message may take, requests to resources included.
    timeout: float = 60.0
    #: Bytes of stdout plus stderr one message may produce.
    output_limit: int = 1 * MiB
    #: Seconds a new process may take to load the toolkit and say it is ready.
    start_timeout: float = 15.0
    #: V8 old-space heap in MiB: a memory bomb meets this before the address-space rlimit.
    heap_mb: int = 192
    #: V8 garbage collection on the main thread only. A host runs many sandbox processes; with
    #: parallel GC each pause waits on helper threads competing for the same CPUs. Measured on
    #: a loaded 2-CPU machine: mean per message 5.9-7.1 ms against 7.2-15.5 ms with defaults.
    single_threaded_gc: bool = True
    rlimits: ResourceLimits = field(default_factory=ResourceLimits)
    #: Warm processes per account (never shared between accounts).
    pool_size: int = 1
    #: A process is replaced after this many messages.
    messages_per_process: int = 1000
    #: Start a replacement in the background when a process is retired.
    prewarm: bool = True
    #: Seconds an account's idle processes are kept before they are stopped.
    idle_timeout: float = 300.0
    #: Accounts with live pools; the least recently used idle pool is closed beyond this.
    max_pools: int = 500
    #: Node's permission model: no fs writes, reads only of the runtime, no child processes,
    #: workers, addons or inspector.
    node_permissions: bool = True
    #: When the host runs as root: the user whose group sandbox processes run with (and whose
    #: uid they run as if ``uid_range`` is None).
    run_as: str | None = "nobody"
    #: When the host runs as root: every live sandbox process gets its own uid from this range
    #: (no passwd entries needed), so one account's process cannot signal another's.
    uid_range: tuple[int, int] | None = (200_000, 265_536)
    #: When the host runs as root: a private mount namespace in which these directories are
    #: empty and read-only, hiding Unix sockets (node's permission model does not cover
    #: ``net.connect(path)``). A directory holding the runtime or node_modules is left alone.
    hidden_paths: tuple[str, ...] = ("/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm", "/home")
    #: ``auto``: a private network namespace when the machine allows one; ``require``: refuse
    #: to start without one; ``off``: share the host's network (tests and benchmarks only).
    network: NetworkMode = "auto"

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*DEFAULT_MODULES, *self.extra_modules)))

    def __post_init__(self) -> None:
        if self.uid_range is not None and not 0 < self.uid_range[0] < self.uid_range[1]:
            raise ValueError("uid_range must be a non-empty range of non-root uids")
        if self.pool_size < 1 or self.messages_per_process < 1:
            raise ValueError("pool_size and messages_per_process must be at least 1")
        for name in self.extra_modules:
            # Names end up in a comma-separated argv value and in a require() whitelist.
            if not name or "," in name or name.startswith((".", "/")):
                raise ValueError(f"invalid module name {name!r}")
