"""CPU time spent by each process group of a benchmark while it runs: where the work of a request goes.

On this shared 2-core machine a benchmark is CPU-bound long before anything waits, so requests/s says little about
why. What does say it: CPU milliseconds per request (or per purchase post) for each group of processes: the
web server, the workers, PostgreSQL, the fakes, the broker, the load generator. Their sum bounds the throughput
the machine can reach (cores x 1000 / total ms), whatever the code does with its waits.
"""

from __future__ import annotations

from collections.abc import Callable

import psutil


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class CpuMeter:
    """`groups` maps a name to a function that lists the group's processes now (called at each reading, so that
    processes started meanwhile, such as new PostgreSQL backends, count from their start)."""

    def __init__(self, groups: dict[str, Callable[[], list[psutil.Process]]]) -> None:
        self._groups = groups
        self._start: dict[str, dict[int, float]] = {}

    def _read(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, processes in self._groups.items():
            readings: dict[int, float] = {}
            for process in processes():
                try:
                    readings[process.pid] = _cpu(process)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
            out[name] = readings
        return out

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group since start(); a process that ended in between is not counted."""
        end = self._read()
        return {name: sum(cpu - self._start.get(name, {}).get(pid, 0.0) for pid, cpu in readings.items())
                for name, readings in end.items()}


def with_children(*pids: int) -> Callable[[], list[psutil.Process]]:
    """These processes and their descendants (gunicorn's workers, say)."""
    def processes() -> list[psutil.Process]:
        out = []
        for pid in pids:
            try:
                parent = psutil.Process(pid)
                out += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return out
    return processes


def only(pid: int) -> Callable[[], list[psutil.Process]]:
    """This process alone (the benchmark's own, whose children are counted in their groups)."""
    def processes() -> list[psutil.Process]:
        try:
            return [psutil.Process(pid)]
        except psutil.NoSuchProcess:
            return []
    return processes


def named(name: str) -> Callable[[], list[psutil.Process]]:
    """Every process of the machine whose executable is `name` (PostgreSQL: the server and all its backends)."""
    def processes() -> list[psutil.Process]:
        return [p for p in psutil.process_iter(["name"]) if p.info["name"] == name]
    return processes


def report(seconds: dict[str, float], units: int, unit: str) -> str:
    """One line per group (ms of CPU per unit of work) and the ceiling their sum puts on the throughput."""
    total = sum(seconds.values())
    lines = [f"    CPU per {unit}: " + ", ".join(f"{name} {1000 * value / units:.2f} ms"
                                                for name, value in seconds.items() if units)]
    if units and total:
        per = 1000 * total / units
        cores = psutil.cpu_count() or 1
        lines.append(f"    total {per:.2f} ms per {unit}: at most {cores * 1000 / per:.0f} {unit}s/s on this "
                     f"machine's {cores} cores")
    return "\n".join(lines)
