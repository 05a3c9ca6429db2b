"""The production topology on loopback: the commands of docker/entrypoint.sh (web, worker, beat) and the
redis-server of docker/compose.yaml, each in a process group of its own (a container), under a supervisor that
restarts a process that died the way `restart: unless-stopped` does; and a PostgreSQL database of the soak's
own on the machine's server, created at start and dropped at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import requests
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESTART_DELAY = 1.0  # docker waits before restarting a container that exited (then backs off; one step here)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@dataclass
class Role:
    """One container: a command run in its own process group, its log file, its restarts."""

    name: str
    command: list[str]
    log: Path
    process: subprocess.Popen | None = None
    restarts: int = 0
    planned: int = 0  # exits a fault caused on purpose (`docker kill`, `docker restart`)
    stopped: bool = False  # `docker stop`: the supervisor leaves it down
    exits: list[tuple[float, int]] = field(default_factory=list)

    def pids(self) -> list[int]:
        """Every process of the group (gunicorn's and Celery's children included)."""
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            parent = psutil.Process(self.process.pid)
            return [parent.pid, *(c.pid for c in parent.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []


class Topology:
    def __init__(self, workdir: Path, env: dict[str, str], *, pg_url: str, db_name: str, keep_database: bool = False):
        self.workdir = workdir
        self.env = env
        self.pg_url = pg_url
        self.db_name = db_name
        self.redis_port = free_port()
        self.web_port = free_port()
        self.roles: dict[str, Role] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.db_created = False
        self.keep_database = keep_database

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def database_url(self) -> str:
        return f"{self.pg_url}/{self.db_name}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    # --- Commands (docker/entrypoint.sh and compose.yaml; web and beat with a loopback port and a schedule file of
    # the soak's own, otherwise the same) --------------------------------------------------------------------------
    def _commands(self) -> dict[str, list[str]]:
        redis_dir = self.workdir / "redis"
        redis_dir.mkdir(exist_ok=True)
        web = (f"{BIN}/python manage.py migrate --noinput && exec {BIN}/gunicorn middleware.wsgi:application "
               f"--bind 127.0.0.1:{self.web_port} --workers 2 --threads 4 --timeout 30 --access-logfile - "
               "--forwarded-allow-ips '*'")
        # The worker is docker/entrypoint.sh's own (it binds nothing); both answer to worker@<host>, as two
        # containers would with their own host names.
        worker = ["sh", str(ROOT / "docker" / "entrypoint.sh"), "worker"]
        return {
            "redis": ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--appendonly", "yes",
                      "--maxmemory-policy", "noeviction", "--dir", str(redis_dir)],
            "web": ["sh", "-c", web],
            "worker1": worker,
            "worker2": worker,
            "beat": [f"{BIN}/celery", "-A", "middleware", "beat", "--loglevel", "INFO", "--schedule",
                     str(self.workdir / "celerybeat-schedule")],
        }

    # --- Lifecycle ------------------------------------------------------------------------------------------
    def create_database(self) -> None:
        with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True

    def start(self) -> None:
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        for name, command in self._commands().items():
            self.roles[name] = Role(name, command, logs / f"{name}.log")
        self._spawn(self.roles["redis"])
        if not wait_port(self.redis_port):
            raise RuntimeError("redis-server did not start")
        for name in ("web", "worker1", "worker2", "beat"):
            self._spawn(self.roles[name])
        self.wait_web()
        self._thread = threading.Thread(target=self._supervise, name="soak-supervisor", daemon=True)
        self._thread.start()

    def wait_web(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.web_url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.roles["web"].process.poll() is not None and not self._thread:
                raise RuntimeError(f"web exited during start-up: see {self.roles['web'].log}")
            time.sleep(0.3)
        raise RuntimeError(f"web did not answer /healthz within {timeout:.0f}s: see {self.roles['web'].log}")

    def _spawn(self, role: Role) -> None:
        with open(role.log, "ab") as log:
            role.process = subprocess.Popen(role.command, cwd=ROOT, env=self.env, stdout=log,  # noqa: S603
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    def _supervise(self) -> None:
        """`restart: unless-stopped`: a container whose main process exited is started again."""
        while not self._stop.wait(0.25):
            for role in list(self.roles.values()):
                with self._lock:
                    if role.stopped or role.process is None or role.process.poll() is None:
                        continue
                    role.exits.append((time.time(), role.process.returncode))
                    _kill_group(role.process, signal.SIGKILL)  # what is left of the container goes with it
                time.sleep(RESTART_DELAY)
                with self._lock:
                    if not role.stopped and not self._stop.is_set():
                        role.restarts += 1
                        self._spawn(role)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """`docker kill`: the whole group at once (the supervisor restarts it)."""
        with self._lock:
            self.roles[name].planned += 1
            _kill_group(self.roles[name].process, sig)

    def restart(self, name: str) -> None:
        """`docker restart`: SIGTERM, wait, start again (Redis writes its append-only file on the way down)."""
        role = self.roles[name]
        with self._lock:
            role.stopped = True
            _kill_group(role.process, signal.SIGTERM)
            try:
                role.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(role.process, signal.SIGKILL)
                role.process.wait()
            role.restarts += 1
            role.planned += 1
            self._spawn(role)
            role.stopped = False

    def stop(self) -> None:
        """Stop every container (SIGTERM, then SIGKILL after 10 s) and drop the database."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        order = ["beat", "worker1", "worker2", "web", "redis"]
        with self._lock:
            for name in order:
                role = self.roles.get(name)
                if role and role.process:
                    role.stopped = True
                    _kill_group(role.process, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for name in order:
                role = self.roles.get(name)
                if role and role.process:
                    try:
                        role.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                    except subprocess.TimeoutExpired:
                        pass
                    _kill_group(role.process, signal.SIGKILL)  # children that outlived their parent too
                    role.process.wait()
        if self.db_created and not self.keep_database:
            self._drop_database()
            self.db_created = False

    @retry(retry=retry_if_exception_type(psycopg.OperationalError), stop=stop_after_delay(120), wait=wait_fixed(2),
           reraise=True)
    def _drop_database(self) -> None:
        """Dropped even when the shared server is short of connections for a while."""
        with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # --- Faults ---------------------------------------------------------------------------------------------
    def terminate_backends(self) -> int:
        """`pg_terminate_backend` of every connection of the service to its database."""
        with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
            rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                                "AND pid <> pg_backend_pid()", (self.db_name,)).fetchall()
        return sum(1 for (done,) in rows if done)

    def pid_with_local_port(self, names: tuple[str, ...], port: int) -> tuple[str, int] | None:
        """(role, pid) of the process of these roles whose connection leaves from 127.0.0.1:port: the one whose
        call a fake is holding (mid-task, mid-request)."""
        for name in names:
            for pid in self.roles[name].pids():
                try:
                    connections = psutil.Process(pid).net_connections(kind="tcp")
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                if any(c.laddr and c.laddr.port == port for c in connections):
                    return name, pid
        return None

    def summary(self) -> dict[str, int]:
        return {name: role.restarts for name, role in self.roles.items()}

    def unplanned_exits(self) -> dict[str, int]:
        """Exits no fault caused (a process that died of a broker or database fault, say): each is a defect the
        supervisor only hid."""
        return {name: max(role.restarts - role.planned, 0) for name, role in self.roles.items()}


def _kill_group(process: subprocess.Popen | None, sig: int) -> None:
    if process is None:
        return
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
