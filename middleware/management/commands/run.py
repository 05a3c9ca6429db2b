"""`manage.py run`: the whole service on one machine — web (gunicorn), Celery worker and beat.

Without BigCommerce credentials (sandbox mode, docs/contract.md §1) it also starts the project's fake BigCommerce,
fake Ordergroove and loopback SFTP server, installs a demo store through the real OAuth flow and prints the
console URL. With DATABASE_URL / REDIS_URL set the same command runs on PostgreSQL and Redis.

The sandbox is a process of its own (middleware/sandbox.py starts `python -m tests.fakes.sandbox`: application
code never imports tests/). The other children run under middleware/plumbing/supervisor.py: one that exits is
restarted (with backoff) while the others keep serving; Ctrl-C stops them all within STOP_GRACE seconds, and a
second Ctrl-C SIGKILLs them at once.
While it runs, `var/run.json` says where the service and the sandbox's fakes listen, so that a command started from
another terminal (`manage.py og_send`) talks to them (middleware/settings/dev.py reads it).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from middleware.plumbing.supervisor import Supervisor, stop_leftover_groups
from middleware.sandbox import SandboxFailed, SandboxProcess

STOP_GRACE = 5.0  # seconds a child gets to finish on Ctrl-C before its process group is SIGKILLed
DEFAULT_APP_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = "Run web + worker + beat (and, without BigCommerce credentials, the sandbox fakes and a demo store)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=None,
                            help="listen on 127.0.0.1:PORT (default: the port of APP_URL, 8000); `make run PORT=8001`")
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--worker-concurrency", type=int, default=2)
        parser.add_argument("--no-sandbox", action="store_true", help="never start the fakes")
        parser.add_argument("--verbose", action="store_true",
                            help="also show the access log, Celery's banners and every task received/succeeded")

    def handle(self, *args, **options) -> None:
        state_file = Path(settings.VAR_DIR) / "run.json"
        other = settings.RUNNING_SERVICE
        if other:
            raise CommandError(f"`manage.py run` (pid {other['pid']}) already serves this checkout at "
                               f"{other['app_url']}; stop it first (Ctrl-C in its terminal). Two runs would share "
                               f"{settings.VAR_DIR} (database, broker, sandbox files).")
        self._stop_leftovers(state_file)
        app_url, host, port = _address(options["port"])
        _check_port_free(host, port)
        call_command("migrate", interactive=False, verbosity=0)
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "middleware.settings.dev")
        env.update({"PYTHONUNBUFFERED": "1", "APP_URL": app_url})
        if not options["verbose"]:
            env.setdefault("TASK_LOG_LEVEL", "WARNING")  # no per-task lines for beat's 15-second ticks
        state = {"pid": os.getpid(), "app_url": app_url}
        sandbox = self._start_sandbox(app_url, env, state) if settings.SANDBOX_MODE and not options["no_sandbox"] \
            else None
        supervisor = Supervisor(env=env, cwd=Path(settings.BASE_DIR), say=self._say)
        for name, argv in _commands(f"{host}:{port}", options).items():
            supervisor.add(name, argv)
        signals = _Signals()
        try:
            signals.install()
            supervisor.start_all()
            self._serve(app_url, state_file, state, supervisor, sandbox)
        except KeyboardInterrupt:
            pass
        finally:
            self._say("Stopping (press Ctrl-C again to stop at once)...")
            supervisor.stop(grace=STOP_GRACE, interrupted=lambda: signals.count > 1)
            if sandbox:
                sandbox.stop(grace=STOP_GRACE, interrupted=lambda: signals.count > 1)
            _remove_state(state_file)
            self._say("Stopped.")

    def _serve(self, app_url: str, state_file: Path, state: dict, supervisor: Supervisor,
               sandbox: SandboxProcess | None) -> None:
        """Start-up, then watch the children until Ctrl-C; run.json names every process group a later run must
        stop if this one is killed outright."""
        state["groups"] = _groups(supervisor, sandbox)
        _write_state(state_file, state)
        self._start_up(app_url, supervisor, sandbox)
        sandbox_running = sandbox is not None
        while True:
            supervisor.poll()
            if _groups(supervisor, sandbox) != state["groups"]:  # a restarted child leads a new group
                state["groups"] = _groups(supervisor, sandbox)
                _write_state(state_file, state)
            if sandbox_running and sandbox.exit_status() is not None:  # its fakes' state cannot be restarted
                sandbox_running = False
                self._say(f"The sandbox exited (status {sandbox.exit_status()}): its fakes are gone; stop and "
                          f"start `make run` again.")
            time.sleep(0.5)

    def _start_sandbox(self, app_url: str, env: dict[str, str], state: dict) -> SandboxProcess:
        # A process of its own, started by module name: the fakes live under tests/, which application code never
        # imports (and the production image does not carry).
        sandbox = SandboxProcess.start(app_url=app_url, var_dir=Path(settings.VAR_DIR), env=env,
                                       cwd=Path(settings.BASE_DIR))
        env.update(sandbox.env)
        state["sandbox"] = {key: sandbox.env[key] for key in
                            ("BIGCOMMERCE_LOGIN_URL", "BIGCOMMERCE_API_URL", "BIGCOMMERCE_PAYMENTS_URL")}
        self._say(f"Sandbox: fake BigCommerce at {sandbox.bigcommerce_url}")
        for name, url in sandbox.extra_urls.items():
            self._say(f"Sandbox: {name} at {url}")
        return sandbox

    def _start_up(self, app_url: str, supervisor: Supervisor, sandbox: SandboxProcess | None) -> None:
        self._wait_healthy(app_url, supervisor)
        console_url = None
        if sandbox:
            try:
                demo = sandbox.demo()
            except SandboxFailed as exc:
                raise CommandError(str(exc)) from exc
            console_url = demo.console_url
            handled = "and handled by the worker" if demo.handled else "(the worker has not handled it yet)"
            self._say(f"Sandbox: demo storefront order {demo.order_id} placed; its webhook was delivered {handled}")
        self._banner(app_url, console_url, sandbox)

    def _stop_leftovers(self, state_file: Path) -> None:
        """A run of this checkout that was killed outright (SIGKILL, OOM) could not stop its children; they would
        still hold the port. run.json names their groups: stop those still running this checkout's programs."""
        try:
            groups = [int(g) for g in json.loads(state_file.read_text()).get("groups", [])]
        except (OSError, ValueError, TypeError, AttributeError):
            return
        stopped = stop_leftover_groups(groups, program_dir=str(Path(sys.executable).parent), grace=STOP_GRACE)
        if stopped:
            self._say(f"Stopped {stopped} process group(s) left running by a previous run that was killed.")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _banner(self, app_url: str, console_url: str | None, sandbox: SandboxProcess | None) -> None:
        """The last lines of start-up: what to open and how to stop, after every banner of the children."""
        lines = ["", self.style.SUCCESS(f"Service up: {app_url}/healthz")]
        if console_url:
            lines.append(self.style.SUCCESS(f"Console: {console_url}"))
        if sandbox:
            lines.append(f"Demo storefront: {sandbox.storefront_url} (sign in as {sandbox.shopper_login})")
        if console_url:
            lines.append("Ordergroove from another terminal: "
                         ".venv/bin/python manage.py og_send placement --store sandbox1")
        lines.append("Press Ctrl-C to stop (twice to stop at once).")
        self._say("\n".join(lines))

    def _wait_healthy(self, app_url: str, supervisor: Supervisor, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = supervisor.exit_status("web")
            if status is not None:  # a web server that cannot start would only be restarted again and again
                raise CommandError(f"The web server exited during start-up (status {status}); see its output above.")
            supervisor.poll()
            try:
                if requests.get(f"{app_url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise CommandError(f"{app_url}/healthz did not answer within {timeout:.0f}s")


class _Signals:
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP: the first unwinds the command into its clean stop (KeyboardInterrupt),
    the next ones only count, which the stop reads as "kill them now"."""

    def __init__(self) -> None:
        self.count = 0

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        self.count += 1
        if self.count == 1:
            raise KeyboardInterrupt


def _address(port_option: int | None) -> tuple[str, str, int]:
    """(APP_URL the service announces, host and port it binds). `--port` listens on 127.0.0.1:PORT; an APP_URL set
    in the environment (a tunnel's public URL, say) stays the public address."""
    env_url = (os.environ.get("APP_URL") or "").rstrip("/")
    if port_option is not None:
        if not 0 < port_option < 65536:
            raise CommandError(f"--port {port_option}: a port is 1 to 65535")
        return env_url or f"http://127.0.0.1:{port_option}", "127.0.0.1", port_option
    parts = urlsplit(env_url or DEFAULT_APP_URL)
    return env_url or DEFAULT_APP_URL, parts.hostname or "127.0.0.1", parts.port or (
        443 if parts.scheme == "https" else 80)


def _check_port_free(host: str, port: int) -> None:
    """Refuse at once, with what to do, rather than let gunicorn retry and print "Connection in use"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}") from exc
            raise CommandError(
                f"Port {port} on {host} is in use (another `make run`, or another program). Stop it, or run on "
                f"another port: `make run PORT={port + 1}` (or `.venv/bin/python manage.py run --port {port + 1}`)."
            ) from exc


def _commands(bind: str, options: dict) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    verbose = options["verbose"]
    celery = [str(bin_dir / "celery"), "-A", "middleware"] + ([] if verbose else ["--quiet"])
    return {
        "web": [str(bin_dir / "gunicorn"), "middleware.wsgi:application", "--bind", bind,
                "--workers", str(options["web_workers"]), "--threads", "4", "--timeout", "60",
                "--worker-class", "middleware.plumbing.admission.ThreadWorker",
                "--graceful-timeout", str(int(STOP_GRACE) - 2), "--log-level", "warning"]
               + (["--access-logfile", "-"] if verbose else []),
        # Without gossip, mingle and heartbeat: nothing here uses them, and their channels are what kombu's Redis
        # transport failed to close after a broker restart (issue 14 finding 13; celery/kombu#582).
        "worker": celery + ["worker", "--loglevel", "INFO", "--concurrency", str(options["worker_concurrency"]),
                            "--hostname", f"worker-{secrets.token_hex(3)}@%h",
                            "--without-gossip", "--without-mingle", "--without-heartbeat"],
        "beat": celery + ["beat", "--loglevel", "INFO",
                          "--schedule", str(Path(settings.VAR_DIR) / "celerybeat-schedule")],
    }


def _groups(supervisor: Supervisor, sandbox: SandboxProcess | None) -> list[int]:
    return supervisor.groups() + ([sandbox.pid] if sandbox is not None and sandbox.exit_status() is None else [])


def _write_state(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)


def _remove_state(path: Path) -> None:
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass
