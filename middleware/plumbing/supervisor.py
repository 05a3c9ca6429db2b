"""Supervision of the run command's child processes (web, worker, beat): each in a process group of its own,
restarted with backoff when it exits, and stopped as a whole.

Why process groups: a terminal's Ctrl-C signals every process of the foreground group. When gunicorn's workers
were in it they got SIGINT from the terminal and SIGQUIT from their master at the same moment, entered their quit
handler twice and deadlocked on the thread pool's shutdown lock, then ignored SIGTERM and kept the port (issue 15).
Here only the run command sees the terminal's signals; it asks each child to stop once, and whatever is left of a
child's group after the grace period (or at a second Ctrl-C) is SIGKILLed, so nothing outlives the command.

Why restarts: one child that dies (a worker that lost its broker for good, an OOM kill) must not take the web
server down with it (issue 14 finding 13). A child that keeps dying is restarted less and less often (1 s doubling
up to BACKOFF_MAX); a run of STABLE_AFTER seconds resets the backoff.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures_in_a_row: int = 0
    restart_at: float | None = None
    pgids: set[int] = field(default_factory=set)  # every group this child ever had that may still hold members


class Supervisor:
    """Start, watch, restart and stop named child processes. Not thread-safe: one loop drives it."""

    def __init__(self, *, env: dict[str, str], cwd: Path, say: Callable[[str], None]):
        self.env = env
        self.cwd = cwd
        self.say = say
        self.children: dict[str, Child] = {}

    def add(self, name: str, argv: list[str]) -> None:
        self.children[name] = Child(name=name, argv=argv)

    def start_all(self) -> None:
        for child in self.children.values():
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        # process_group=0: the child leads a group of its own (its workers and pool processes join it), outside
        # the terminal's foreground group; stdin closed so that a background group never stops on SIGTTIN.
        child.process = subprocess.Popen(child.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                         process_group=0)
        child.pgids.add(child.process.pid)
        child.started_at = time.monotonic()
        child.restart_at = None

    def poll(self) -> None:
        """Restart the children that exited, each after its backoff. Call it about twice a second."""
        now = time.monotonic()
        for child in self.children.values():
            _forget_empty_groups(child)
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._spawn(child)
                continue
            if child.process is None or child.process.poll() is None:
                continue
            status = child.process.returncode
            # Whatever the dead leader left behind (gunicorn workers holding the port, pool processes) goes first.
            _kill_groups(child, signal.SIGKILL)
            child.failures_in_a_row = 0 if now - child.started_at >= STABLE_AFTER else child.failures_in_a_row + 1
            delay = min(BACKOFF_FIRST * 2 ** max(child.failures_in_a_row - 1, 0), BACKOFF_MAX)
            child.restart_at = now + delay
            self.say(f"{child.name} exited with status {status}; restarting it in {delay:.0f} s")

    def groups(self) -> list[int]:
        """The process groups of the running children (what a later run must stop if this one is killed)."""
        return sorted(c.process.pid for c in self.children.values() if c.process is not None)

    def exit_status(self, name: str) -> int | None:
        """The child's exit status if it has exited and is not yet restarted, else None."""
        process = self.children[name].process
        return None if process is None else process.poll()

    def stop(self, *, grace: float, interrupted: Callable[[], bool]) -> None:
        """SIGTERM every child's leader (gunicorn and Celery's graceful stop), wait up to `grace` seconds, then
        SIGKILL what remains of every group. `interrupted()` turning true (a second Ctrl-C) ends the wait at once."""
        for child in self.children.values():
            child.restart_at = None
            if child.process is not None and child.process.poll() is None:
                _signal_pid(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not interrupted():
            if all(c.process is None or c.process.poll() is not None for c in self.children.values()):
                break
            time.sleep(0.1)
        self.kill()

    def kill(self) -> None:
        """SIGKILL every process of every child's groups and reap the leaders."""
        for child in self.children.values():
            _kill_groups(child, signal.SIGKILL)
            if child.process is not None:
                try:
                    child.process.wait(timeout=5)
                except subprocess.TimeoutExpired:  # not ours to wait for any longer (uninterruptible sleep)
                    logger.warning("%s (pid %s) did not exit after SIGKILL", child.name, child.process.pid)


def stop_leftover_groups(pgids: list[int], *, program_dir: str, grace: float) -> int:
    """SIGTERM, then after `grace` seconds SIGKILL, each group whose leader still runs a program from `program_dir`
    (this checkout's virtualenv: a group id the system has since handed to another program is left alone).
    Linux only (/proc); elsewhere nothing is stopped. Returns how many groups were signalled."""
    ours = [pgid for pgid in pgids if _runs_from(pgid, program_dir)]
    for pgid in ours:
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_exists(pgid) for pgid in ours):
        time.sleep(0.1)
    for pgid in ours:
        _signal_group(pgid, signal.SIGKILL)
    return len(ours)


def _runs_from(pid: int, program_dir: str) -> bool:
    try:
        if os.getpgid(pid) != pid:
            return False
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(arg.decode(errors="replace").startswith(program_dir + os.sep) for arg in argv)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_pid(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _forget_empty_groups(child: Child) -> None:
    """Drop the ids of groups that no longer exist, so that an id the system hands out again is never signalled."""
    current = child.process.pid if child.process is not None and child.process.poll() is None else None
    for pgid in list(child.pgids):
        if pgid == current:
            continue
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            child.pgids.discard(pgid)


def _kill_groups(child: Child, sig: signal.Signals) -> None:
    for pgid in list(child.pgids):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:  # the group is empty: nothing of it is left
            child.pgids.discard(pgid)
        except PermissionError:  # the id now names someone else's group: ours is long gone
            child.pgids.discard(pgid)
