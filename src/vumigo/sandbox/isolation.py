"""Process-level isolation of sandbox processes.

Node's ``vm`` module is not a security boundary: an app reaches the real ``process`` object with
``api.constructor.constructor('return process')()``. Everything below therefore assumes the app
has full control of its node process and limits what that process can do.

Enforced (:func:`isolation_report` says which of these this machine allows):

- **Empty environment.** The host's environment is never passed in (it would leak secrets, and
  ``NODE_EXTRA_CA_CERTS`` alone adds ~85 ms to every node start).
- **Node permission model** (``--experimental-permission``, node 20): reads only of the
  sandboxer and ``node_modules``; no fs writes, child processes, worker threads, native addons,
  WASI or inspector; ``process.binding`` is refused.
- **rlimits** (set in the child before ``exec``): address space, CPU seconds, open files, file
  size, core size, stack; plus a V8 heap cap so a memory bomb fails fast.
- **A unique unprivileged uid per process** when the host runs as root (from ``uid_range``,
  group of ``run_as``, no supplementary groups, ``PR_SET_NO_NEW_PRIVS``), so a process cannot
  signal, or otherwise reach as "the same user", any other account's process.
- **No network** when the machine allows a private network namespace (root or CAP_SYS_ADMIN):
  the process sees only a loopback interface that is down, so the ``http`` resource is its only
  way out.
- **A private mount namespace** in which ``hidden_paths`` (``/tmp``, ``/run``, ...) are empty
  and read-only. Node's permission model does not cover connecting to a Unix socket by path,
  so without this a world-writable socket (a database's, D-Bus) would be reachable.
- **Parent-death signal**: a sandbox process is killed if the host dies.
- **Output, wall clock and unknown commands** are enforced by the host (see ``process.py``).

Namespaces are probed once; ``network="require"`` makes a machine without a network namespace an
error, ``"auto"`` falls back and says so in the report. Not enforced here:

- Without namespaces (host not root, or a container that forbids them) the process can open
  sockets, TCP or Unix: node 20's permission model does not cover the network, and a
  JavaScript-level block is bypassable (``process.stdout`` is itself a ``net.Socket``). Run the
  host as root, in a container without network, or behind an egress firewall.
- Unix sockets outside ``hidden_paths`` that are world-writable stay reachable.
- Memory is capped per process by the V8 heap limit and ``RLIMIT_AS`` (2 GiB, of which node 20
  reserves ~1 GiB up front), not by a cgroup: a buffer bomb can touch about 1 GB before it
  fails, per process. Use a memory cgroup for a tighter budget.
- Reads outside the runtime are refused by node's permission model, not hidden by a chroot.
- Within one account's process, modules loaded with ``require`` are shared between messages (as
  in the original when it reused processes); each message still gets a fresh ``vm`` context.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import pwd
import resource
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vumigo.sandbox.limits import SANDBOXER_JS, ResourceLimits, SandboxSettings

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REC, MS_PRIVATE = 1 << 14, 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

# Loaded and typed in the parent: a forked child must not dlopen before exec.
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]

_RLIMITS: tuple[tuple[str, int], ...] = (
    ("address_space", resource.RLIMIT_AS),
    ("cpu_seconds", resource.RLIMIT_CPU),
    ("open_files", resource.RLIMIT_NOFILE),
    ("file_size", resource.RLIMIT_FSIZE),
    ("core", resource.RLIMIT_CORE),
    ("stack", resource.RLIMIT_STACK),
)


class IsolationUnavailable(RuntimeError):
    """Raised when ``network="require"`` and no network namespace can be made."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enter_namespaces(flags: int, hidden: tuple[bytes, ...]) -> None:
    """In a forked child: new namespaces, then (with a mount namespace) empty read-only tmpfs
    over each hidden directory. Mounts stay inside the new namespace."""
    _check(_libc.unshare(flags), "unshare")
    if flags & CLONE_NEWNS:
        _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
        readonly = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
        for path in hidden:
            _check(_libc.mount(b"tmpfs", path, b"tmpfs", readonly, b"size=4k,mode=755"), "hide")


@functools.cache
def namespaces_available(flags: int) -> bool:
    """Whether this host can put a child in the given new namespaces (probed once)."""
    try:
        subprocess.run(
            ["/bin/true"],
            preexec_fn=lambda: _enter_namespaces(flags, ()),
            env={},
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


class UidAllocator:
    """Hands out uids from a range so no two live sandbox processes share one."""

    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop
        self._next = start
        self._in_use: set[int] = set()

    def acquire(self) -> int:
        for _ in range(self.stop - self.start):
            uid = self._next
            self._next = self.start + (self._next + 1 - self.start) % (self.stop - self.start)
            if uid not in self._in_use:
                self._in_use.add(uid)
                return uid
        raise RuntimeError("no free sandbox uid")

    def release(self, uid: int) -> None:
        self._in_use.discard(uid)


@dataclass(frozen=True)
class IsolationReport:
    """What a sandbox process started with these settings is and is not subject to."""

    enforced: tuple[str, ...]
    not_enforced: tuple[str, ...]
    network_namespace: bool
    mount_namespace: bool
    unprivileged: bool
    unique_uids: bool

    def describe(self) -> str:
        lines = [f"enforced: {item}" for item in self.enforced]
        lines += [f"NOT enforced: {item}" for item in self.not_enforced]
        return "\n".join(lines)


@dataclass(frozen=True)
class LaunchPlan:
    """How to start sandbox processes: argv, environment, cwd and the pre-exec hook."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: str
    report: IsolationReport
    limits: ResourceLimits
    namespace_flags: int = 0
    hidden: tuple[bytes, ...] = ()
    gid: int | None = None
    uid: int | None = None
    uids: UidAllocator | None = field(default=None, compare=False)

    def allocate_uid(self) -> int | None:
        return self.uids.acquire() if self.uids is not None else self.uid

    def release_uid(self, uid: int | None) -> None:
        if self.uids is not None and uid is not None:
            self.uids.release(uid)

    def preexec(self, uid: int | None) -> Callable[[], None]:
        values = [(res, getattr(self.limits, name)) for name, res in _RLIMITS]
        flags, hidden, gid = self.namespace_flags, self.hidden, self.gid

        def run() -> None:
            # In the forked child before exec; order matters. rlimits and namespaces need the
            # parent's privileges, so they come before dropping to the unprivileged user.
            for res, value in values:
                if value is not None:
                    resource.setrlimit(res, (value, value))
            if flags:
                _enter_namespaces(flags, hidden)
            if uid is not None and gid is not None:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            # Set after setuid, which clears it; kills the sandbox if the host dies.
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

        return run


def _node_argv(settings: SandboxSettings) -> tuple[str, ...]:
    argv = [settings.node]
    if settings.node_permissions:
        # A trailing slash grants the directory's contents; nothing else is readable.
        argv += [
            "--experimental-permission",
            f"--allow-fs-read={SANDBOXER_JS.parent}/",
            f"--allow-fs-read={settings.modules_dir.resolve()}/",
            "--disable-warning=ExperimentalWarning",
        ]
    if settings.single_threaded_gc:
        argv.append("--single-threaded-gc")
    argv += [
        f"--max-old-space-size={settings.heap_mb}",
        str(SANDBOXER_JS),
        f"--modules-dir={settings.modules_dir.resolve()}",
        f"--modules={','.join(settings.modules)}",
    ]
    return tuple(argv)


def _hidden_paths(settings: SandboxSettings) -> tuple[bytes, ...]:
    """Existing directories to hide, minus any that hold what node must read."""
    needed = [SANDBOXER_JS.resolve(), settings.modules_dir.resolve()]
    node = Path(settings.node)
    if node.exists():
        needed.append(node.resolve())
    chosen: dict[Path, None] = {}
    for entry in settings.hidden_paths:
        path = Path(entry).resolve()  # /var/run -> /run: mount each directory once
        if (
            path.is_dir()
            and path != Path("/")
            and not any(p == path or path in p.parents for p in needed)
        ):
            chosen[path] = None
    return tuple(str(path).encode() for path in chosen)


def launch_plan(settings: SandboxSettings) -> LaunchPlan:
    """Probe what this machine allows and build how sandbox processes are started."""
    root = os.geteuid() == 0
    netns = settings.network != "off" and namespaces_available(CLONE_NEWNET)
    if settings.network == "require" and not netns:
        raise IsolationUnavailable("a private network namespace is required but unavailable")
    hidden = _hidden_paths(settings) if root else ()
    mountns = bool(hidden) and namespaces_available(CLONE_NEWNS)
    flags = (CLONE_NEWNET if netns else 0) | (CLONE_NEWNS if mountns else 0)
    gid = uid = None
    uids = None
    if root and settings.run_as is not None:
        entry = pwd.getpwnam(settings.run_as)
        gid, uid = entry.pw_gid, entry.pw_uid
        if settings.uid_range is not None:
            uids = UidAllocator(*settings.uid_range)
    report = _report(settings, netns, mountns, hidden, gid is not None, uids is not None)
    return LaunchPlan(
        argv=_node_argv(settings),
        env={},
        cwd="/",
        report=report,
        limits=settings.rlimits,
        namespace_flags=flags,
        hidden=hidden if mountns else (),
        gid=gid,
        uid=uid,
        uids=uids,
    )


def isolation_report(settings: SandboxSettings) -> IsolationReport:
    return launch_plan(settings).report


def _report(
    settings: SandboxSettings,
    netns: bool,
    mountns: bool,
    hidden: tuple[bytes, ...],
    unprivileged: bool,
    unique_uids: bool,
) -> IsolationReport:
    enforced = ["empty environment", "per-message wall clock, output cap, unknown-command kill"]
    missing = []
    limits = ", ".join(
        f"{name}={getattr(settings.rlimits, name)}"
        for name, _ in _RLIMITS
        if getattr(settings.rlimits, name) is not None
    )
    enforced.append(f"rlimits ({limits}); V8 heap {settings.heap_mb} MiB")
    if settings.node_permissions:
        enforced.append(
            "node permission model: fs reads of runtime and node_modules only; no fs writes, "
            "child processes, workers, addons, WASI, inspector"
        )
    else:
        missing.append("node permission model (disabled): full fs read/write, child processes")
    if unique_uids:
        enforced.append(f"a unique unprivileged uid per process from {settings.uid_range}")
    elif unprivileged:
        enforced.append(f"runs as {settings.run_as} (shared by all sandbox processes)")
        missing.append("per-process uids: sandboxes can signal each other")
    else:
        missing.append("unprivileged user (host is not root, or run_as is None)")
    if netns:
        enforced.append("private network namespace: no network at all")
    else:
        missing.append("network isolation: the process can open TCP/UDP sockets directly")
    if mountns:
        paths = ", ".join(path.decode() for path in hidden)
        enforced.append(f"private mount namespace hiding {paths}")
    else:
        missing.append("mount namespace: world-writable Unix sockets are reachable")
    missing.append("memory cgroup (RLIMIT_AS only); chroot (permission model only)")
    return IsolationReport(
        tuple(enforced), tuple(missing), netns, mountns, unprivileged, unique_uids
    )
