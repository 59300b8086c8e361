"""What one gateway run measured, the totals per gateway, and the tables printed for them."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from load import percentile


@dataclass
class Run:
    gateway: str
    count: int  # messages
    seconds: float  # first message in until the last accepted by the SMSC (or pushed)
    latencies: list[float]  # seconds, one per message
    parts: dict[str, tuple[float, float]]  # process group → CPU seconds, peak MB
    answered_seconds: float = 0.0  # inbound: first deliver_sm until the last one answered

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu(self) -> float:
        return sum(cpu for cpu, _ in self.parts.values())

    @property
    def peak_mb(self) -> float:
        return sum(peak for _, peak in self.parts.values())


@dataclass
class Total:
    """A gateway's runs taken together: every message, every second, every latency."""

    runs: list[Run] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(r.count for r in self.runs)

    @property
    def rate(self) -> float:
        return self.count / sum(r.seconds for r in self.runs)

    @property
    def answered_rate(self) -> float:
        return self.count / sum(r.answered_seconds for r in self.runs)

    def latency_ms(self, q: int) -> float:
        return percentile([x for r in self.runs for x in r.latencies], q) * 1000

    @property
    def cpu(self) -> float:
        return sum(r.cpu for r in self.runs)

    @property
    def cpu_ms_per_message(self) -> float:
        return self.cpu * 1000 / self.count

    @property
    def peak_mb(self) -> float:
        return max(r.peak_mb for r in self.runs)

    def parts(self) -> str:
        names = self.runs[0].parts
        return ", ".join(
            f"{name} {sum(r.parts[name][0] for r in self.runs):.1f} s "
            f"{max(r.parts[name][1] for r in self.runs):.0f} MB"
            for name in names
        )


def totals(runs: list[Run]) -> dict[str, Total]:
    found: dict[str, Total] = {}
    for run in runs:
        found.setdefault(run.gateway, Total()).runs.append(run)
    return found


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, {platform.platform(terse=True)}"


def load() -> str:
    """The 1-minute load average: how busy the machine was besides this benchmark."""
    return f"{os.getloadavg()[0]:.1f}"


def _row(name: str, label: str, rate: float, p50: float, p99: float, cpu: float, per: float,
         peak: float, extra: str = "") -> str:  # fmt: skip
    return (
        f"{name:<8}{label:>6}{rate:>8.0f}{extra}{p50:>9.1f}ms{p99:>9.1f}ms"
        f"{cpu:>8.1f}{per:>8.2f}{peak:>9.0f}"
    )


def outbound_table(runs: list[Run]) -> dict[str, Total]:
    head = (
        f"{'gateway':<8}{'run':>6}{'msg/s':>8}{'HTTP p50':>11}{'HTTP p99':>11}"
        f"{'CPU s':>8}{'ms/msg':>8}{'peak MB':>9}"
    )
    print(head)
    print("-" * len(head))
    for n, run in enumerate(runs, 1):
        print(
            _row(
                run.gateway, f"{n}", run.rate, percentile(run.latencies, 50) * 1000,
                percentile(run.latencies, 99) * 1000, run.cpu, run.cpu * 1000 / run.count,
                run.peak_mb,
            )
        )  # fmt: skip
    found = totals(runs)
    for name, t in found.items():
        print(
            _row(
                name, "all", t.rate, t.latency_ms(50), t.latency_ms(99), t.cpu,
                t.cpu_ms_per_message, t.peak_mb,
            )
        )  # fmt: skip
    return found


def inbound_table(runs: list[Run]) -> dict[str, Total]:
    head = (
        f"{'gateway':<8}{'run':>6}{'MO/s':>8}{'answered/s':>11}{'p50':>11}{'p99':>11}"
        f"{'CPU s':>8}{'ms/MO':>8}{'peak MB':>9}"
    )
    print(head)
    print("-" * len(head))
    for n, run in enumerate(runs, 1):
        answered = f"{run.count / run.answered_seconds:>11.0f}"
        print(
            _row(
                run.gateway, f"{n}", run.rate, percentile(run.latencies, 50) * 1000,
                percentile(run.latencies, 99) * 1000, run.cpu, run.cpu * 1000 / run.count,
                run.peak_mb, answered,
            )
        )  # fmt: skip
    found = totals(runs)
    for name, t in found.items():
        print(
            _row(
                name, "all", t.rate, t.latency_ms(50), t.latency_ms(99), t.cpu,
                t.cpu_ms_per_message, t.peak_mb, f"{t.answered_rate:>11.0f}",
            )
        )  # fmt: skip
    return found


def ratios(label: str, ours: Total, theirs: Total) -> str:
    return (
        f"ratio vumigo/jasmin {label}: throughput {ours.rate / theirs.rate:.2f}, "
        f"p50 latency {ours.latency_ms(50) / theirs.latency_ms(50):.2f}, "
        f"p99 latency {ours.latency_ms(99) / theirs.latency_ms(99):.2f}, "
        f"CPU per message {ours.cpu_ms_per_message / theirs.cpu_ms_per_message:.2f}, "
        f"peak memory {ours.peak_mb / theirs.peak_mb:.2f}"
    )
