"""The README's run command on embedded defaults: SQLite, the filesystem broker, no server to install.

Runs `manage.py run` as a newcomer would, in sandbox mode (no BigCommerce credentials), in a process group of its
own standing for the terminal: Ctrl-C is SIGINT to that whole group, as a terminal sends it. Checks that the service
answers, the demo store's console opens, beat → broker → worker really runs tasks asynchronously, a README command
from "another terminal" reaches the sandbox, a crashed child is restarted while the web server keeps answering,
and Ctrl-C leaves nothing behind (issue 15 stumbles 1–4, issue 14 finding 13).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Press Ctrl-C to stop"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _newcomer_env(var_dir: Path) -> dict[str, str]:
    """A shell with none of this machine's service settings: only where var/ is (the checkout's own in real life)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "BIGCOMMERCE_CLIENT_ID", "BIGCOMMERCE_CLIENT_SECRET",
                        "DJANGO_SETTINGS_MODULE", "APP_URL", "TASK_LOG_LEVEL"}}
    env["VAR_DIR"] = str(var_dir)
    return env


class Run:
    """`manage.py run --port PORT` in a session of its own (the terminal), its output in a file."""

    def __init__(self, tmp_path: Path, *args: str, port: int | None = None):
        self.port = port or _free_port()
        self.app_url = f"http://127.0.0.1:{self.port}"
        self.var_dir = tmp_path / "var"
        self.log_path = tmp_path / f"run-{time.monotonic_ns()}.log"
        self.seen: list[psutil.Process] = []  # every descendant a test looked at: none may outlive the test
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run", "--port", str(self.port), "--web-workers", "1",
                 "--worker-concurrency", "1", *args], cwd=ROOT, env=_newcomer_env(self.var_dir), stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, pattern: str, deadline: float = 120) -> re.Match:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            match = re.search(pattern, self.output)
            if match:
                return match
            assert self.process.poll() is None, self.output[-3000:]
            time.sleep(0.3)
        raise AssertionError(f"no {pattern!r} in the output:\n{self.output[-3000:]}")

    def descendants(self) -> list[psutil.Process]:
        found = psutil.Process(self.process.pid).children(recursive=True)
        self.seen.extend(found)
        return found

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)  # what a terminal does: the whole foreground group

    def cleanup(self) -> None:
        leftovers = self.seen + (self.descendants() if self.process.poll() is None else [])
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for proc in leftovers:  # never leave a server behind, whatever the test found
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass


def _running(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def _celery_worker(service: Run) -> psutil.Process | None:
    """The run command's Celery worker child (the leader of its group), if one runs."""
    return next((p for p in psutil.Process(service.process.pid).children() if "worker" in p.cmdline()), None)


@pytest.fixture
def run(tmp_path):
    started: list[Run] = []

    def _start(*args: str, port: int | None = None) -> Run:
        started.append(Run(tmp_path, *args, port=port))
        return started[-1]

    yield _start
    for r in started:
        r.cleanup()


def test_run_command_serves_the_sandbox_and_ctrl_c_leaves_nothing_behind(run, tmp_path):
    service = run()
    console_url = service.wait_for(r"Console: (\S+)").group(1)
    service.wait_for(READY_LINE)
    # The console URL is among the last lines, after every child's start-up output.
    tail = service.output.strip().splitlines()[-4:]
    assert any(line.startswith("Console: ") for line in tail) and tail[-1].startswith(READY_LINE), tail

    assert requests.get(f"{service.app_url}/healthz", timeout=5).json() == {"status": "ok"}
    page = requests.get(console_url, timeout=10)
    assert page.status_code == 200 and "Store sandbox1" in page.text
    # The demo storefront carries the storefront script the service installed through the Scripts API.
    shop_url = re.search(r"demo storefront \(sign in as [^)]*\) at (\S+)", service.output).group(1)
    assert f'data-og-app="{service.app_url}"' in requests.get(shop_url + "/", timeout=10).text
    assert (service.var_dir / "db.sqlite3").exists()  # embedded database
    assert (service.var_dir / "broker").is_dir()  # embedded broker

    heartbeat = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and heartbeat is None:
        ready = requests.get(f"{service.app_url}/readyz", timeout=5).json()
        assert ready["checks"]["database"] == "ok" and ready["checks"]["broker"] == "ok"
        heartbeat = ready["checks"]["worker_heartbeat_age_s"]
        time.sleep(1)
    assert heartbeat is not None, "beat → worker round trip never happened:\n" + service.output[-3000:]

    # The demo storefront order's webhook went through the inbox and the worker to the fake Ordergroove.
    token = parse_qs(urlsplit(page.url).query)["t"][0]
    delivered = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and delivered is None:
        deliveries = requests.get(f"{service.app_url}/console/api/activity/deliveries",
                                  headers={"X-Console-Token": token}, timeout=5).json()
        delivered = next((d for d in deliveries if d["kind"] == "purchase_post"
                          and d["status"] == "succeeded"), None)
        time.sleep(1)
    assert delivered, "the demo order's purchase post never succeeded:\n" + service.output[-3000:]
    assert delivered["subs_req_id"]

    # The README's command from a second terminal, exactly as written (no APP_URL, no ports): it finds the running
    # service and the sandbox's fake BigCommerce.
    placed = subprocess.run([sys.executable, "manage.py", "og_send", "placement", "--store", "sandbox1"], cwd=ROOT,
                            env=_newcomer_env(service.var_dir), capture_output=True, text=True, timeout=120)
    assert placed.returncode == 0, placed.stderr[-2000:]
    assert "HTTP 200" in placed.stdout and "<code>SUCCESS</code>" in placed.stdout, placed.stdout
    event = subprocess.run([sys.executable, "manage.py", "og_send", "event", "--store", "sandbox1", "--type",
                            "order.reject", "--message", "Card declined"], cwd=ROOT,
                           env=_newcomer_env(service.var_dir), capture_output=True, text=True, timeout=60)
    assert event.returncode == 0 and "HTTP 2" in event.stdout, event.stdout + event.stderr[-2000:]

    # A second run from the same checkout would share its database and broker: refused, saying which one runs.
    second = subprocess.run([sys.executable, "manage.py", "run", "--port", str(_free_port())], cwd=ROOT,
                            env=_newcomer_env(service.var_dir), capture_output=True, text=True, timeout=60)
    assert second.returncode != 0 and f"already serves this checkout at {service.app_url}" in second.stderr

    # Beat ran its 15-second tasks meanwhile, but none of their per-task lines reached the terminal.
    assert not re.search(r"Sending due task|Task middleware\.heartbeat\[.*\] (received|succeeded)", service.output)

    children = service.descendants()
    assert len(children) >= 5  # gunicorn master + worker, Celery worker + pool process, beat
    service.ctrl_c()
    service.process.wait(timeout=30)
    assert _running(children) == [], service.output[-3000:]
    assert _port_free(service.port)
    assert not (service.var_dir / "run.json").exists()


def test_a_crashed_child_is_restarted_while_the_web_server_answers_and_a_second_ctrl_c_kills_at_once(run):
    service = run("--no-sandbox")
    service.wait_for(READY_LINE)
    worker = _celery_worker(service)
    killed = [worker, *worker.children(recursive=True)]  # its pool process too
    worker.send_signal(signal.SIGKILL)

    service.wait_for(r"worker exited with status -9; restarting it in \d+ s")
    while True:  # a new worker process, while the web server keeps answering
        assert requests.get(f"{service.app_url}/healthz", timeout=5).status_code == 200
        restarted = _celery_worker(service)
        if restarted is not None and restarted.pid != worker.pid:
            break
        assert service.process.poll() is None, service.output[-3000:]
        time.sleep(0.3)
    assert _running(killed) == []  # the killed worker's orphaned pool process went too

    children = service.descendants()
    service.ctrl_c()
    service.wait_for("Stopping")
    service.ctrl_c()  # the second Ctrl-C: no grace period
    service.process.wait(timeout=30)
    assert _running(children) == [], service.output[-3000:]
    assert _port_free(service.port)


def test_a_run_killed_outright_leaves_nothing_that_blocks_the_next_one(run):
    """SIGKILL (or the OOM killer) gives the run command no chance to stop its children: they keep the port. The
    next run of the checkout stops them (run.json names their groups) and starts on the same port."""
    first = run("--no-sandbox")
    first.wait_for(READY_LINE)
    children = first.descendants()
    first.process.kill()
    first.process.wait(timeout=10)
    assert _running(children) and not _port_free(first.port)  # orphans holding the port

    second = run("--no-sandbox", port=first.port)
    second.wait_for(READY_LINE)
    assert re.search(r"Stopped 3 process group\(s\) left running by a previous run", second.output)
    assert _running(children) == []
    assert requests.get(f"{second.app_url}/healthz", timeout=5).status_code == 200
    second.ctrl_c()
    second.process.wait(timeout=30)


def test_a_port_in_use_says_how_to_run_on_another(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "manage.py", "run", "--port", str(port)], cwd=ROOT,
                                env=_newcomer_env(tmp_path / "var"), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert f"make run PORT={port + 1}" in result.stderr


def test_og_send_without_a_running_sandbox_says_to_start_it(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "og_send", "placement", "--store", "sandbox1"], cwd=ROOT,
                            env=_newcomer_env(tmp_path / "var"), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "The sandbox is not running in this checkout: start it with `make run`" in result.stderr
