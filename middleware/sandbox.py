"""The sandbox seen from `manage.py run`: the project's fakes (tests/fakes/sandbox.py) in a child process.

Application code never imports tests/ (the production image does not carry it): the run command starts the sandbox
by module name, `python -m tests.fakes.sandbox`, and the two talk over the child's pipes, one JSON object a line
(the protocol is described beside the child's `main`). The child learns on its stdin when to install the demo store;
its stdout says where the fakes listen. Closing its stdin stops it, so a run command that is killed outright does
not leave the fakes behind either: the pipe closes with it.

Project wiring (the top layer): imports nothing of the apps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SANDBOX_MODULE = "tests.fakes.sandbox"


class SandboxFailed(Exception):
    """The sandbox process exited, or answered an error, instead of doing what was asked."""


@dataclass(frozen=True)
class DemoOrder:
    console_url: str
    order_id: int
    handled: bool  # the worker took its webhook through within the sandbox's wait


class SandboxProcess:
    """One sandbox child: started by `start`, asked for the demo store by `demo`, ended by `stop`."""

    def __init__(self, process: subprocess.Popen, hello: dict[str, Any]):
        self.process = process
        self.env: dict[str, str] = hello["env"]  # what the service's processes need to reach the fakes
        self.bigcommerce_url: str = hello["bigcommerce_url"]
        self.extra_urls: dict[str, str] = hello["extra_urls"]  # {what: where} of the other fakes
        self.storefront_url: str = hello["storefront_url"]
        self.shopper_login: str = hello["shopper_login"]

    @classmethod
    def start(cls, *, app_url: str, var_dir: Path, env: dict[str, str], cwd: Path) -> SandboxProcess:
        """Start the child and wait until its fakes listen. Its stderr is the run command's (the terminal)."""
        # process_group=0: outside the terminal's foreground group, as the supervised children are; the run
        # command stops it, once, on its way out.
        process = subprocess.Popen(
            [sys.executable, "-m", SANDBOX_MODULE, "--app-url", app_url, "--var-dir", str(var_dir)],
            env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, process_group=0)
        try:
            return cls(process, _answer(process, "start"))
        except BaseException:  # a failed start, or Ctrl-C meanwhile: nothing of it may outlive the command
            _kill(process)
            raise

    @property
    def pid(self) -> int:
        """Its process group too (it leads one)."""
        return self.process.pid

    def exit_status(self) -> int | None:
        return self.process.poll()

    def demo(self) -> DemoOrder:
        """Install the demo store through the running service, place a storefront order and wait (a minute at
        most) for the worker to take its webhook through."""
        try:
            self.process.stdin.write("demo\n")
            self.process.stdin.flush()
        except OSError:  # it has exited: the answer below says so
            pass
        answer = _answer(self.process, "install the demo store")
        return DemoOrder(answer["console_url"], int(answer["order_id"]), bool(answer["handled"]))

    def stop(self, *, grace: float, interrupted: Callable[[], bool]) -> None:
        """End of its stdin asks it to stop its fakes; after `grace` seconds, or at once when `interrupted()` turns
        true (a second Ctrl-C), its group is SIGKILLed."""
        try:
            self.process.stdin.close()
        except OSError:  # it is gone already, the pipe with it
            pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not interrupted() and self.process.poll() is None:
            time.sleep(0.1)
        _kill(self.process)


def _answer(process: subprocess.Popen, doing: str) -> dict[str, Any]:
    line = process.stdout.readline()
    if not line:
        status = process.wait()
        raise SandboxFailed(f"The sandbox exited (status {status}) instead of answering ({doing}); see its output "
                            f"above.")
    answer = json.loads(line)
    if "error" in answer:
        raise SandboxFailed(f"The sandbox could not {doing}: {answer['error']}")
    return answer


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL its group unless it has exited (then it was reaped, and its id may name someone else's group by now;
    it starts no processes of its own, so nothing of the group is left), reap it and close the pipes."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    process.wait()
    for pipe in (process.stdin, process.stdout):
        try:
            pipe.close()
        except OSError:
            pass
