"""What the benchmarks share: reading percentiles off their measurements."""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """The value below which a fraction `q` of `values` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Steal:
    """The share of this machine's processor time its hypervisor gave to other machines while
    a benchmark ran (Linux's `steal` in /proc/stat): on a shared virtual machine, the main
    cause of one run's figures moving from the next one's. None where it is not counted."""

    def __init__(self) -> None:
        self._start = _cpu_times()

    def share(self) -> float | None:
        end, start = _cpu_times(), self._start
        if end is None or start is None or len(end) < 8 or sum(end) <= sum(start):
            return None
        return (end[7] - start[7]) / (sum(end) - sum(start))


def _cpu_times() -> list[int] | None:
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    return [int(v) for v in fields[1:]] if fields and fields[0] == "cpu" else None
