"""`manage.py run`: the whole service on one machine — web (gunicorn), Celery worker and beat.

Without BigCommerce credentials (sandbox mode, DECISIONS §1) it also starts the project's fake BigCommerce,
fake Ordergroove and loopback SFTP server, installs a demo store through the real OAuth flow and prints the
console URL. With DATABASE_URL / REDIS_URL set the same command runs on PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web + worker + beat (and, without BigCommerce credentials, the sandbox fakes and a demo store)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--worker-concurrency", type=int, default=2)
        parser.add_argument("--no-sandbox", action="store_true", help="never start the fakes")

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        app_url = settings.APP_URL
        parts = urlsplit(app_url)
        bind = f"{parts.hostname or '127.0.0.1'}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "middleware.settings.dev"))
        env["PYTHONUNBUFFERED"] = "1"

        sandbox = None
        if settings.SANDBOX_MODE and not options["no_sandbox"]:
            from tests.fakes.sandbox import Sandbox  # the same fakes the tests use

            sandbox = Sandbox(app_url=app_url, var_dir=Path(settings.VAR_DIR))
            env.update(sandbox.start())
            self.stdout.write(f"Sandbox: fake BigCommerce at {sandbox.bigcommerce.url}")
            for name, url in sandbox.extra_urls().items():
                self.stdout.write(f"Sandbox: {name} at {url}")

        bin_dir = Path(sys.executable).parent
        commands = {
            "web": [str(bin_dir / "gunicorn"), "middleware.wsgi:application", "--bind", bind,
                    "--workers", str(options["web_workers"]), "--threads", "4", "--timeout", "60",
                    "--worker-class", "middleware.admission.ThreadWorker",
                    "--access-logfile", "-", "--log-level", "warning"],
            "worker": [str(bin_dir / "celery"), "-A", "middleware", "worker", "--loglevel", "INFO",
                       "--concurrency", str(options["worker_concurrency"]),
                       "--hostname", f"worker-{secrets.token_hex(3)}@%h"],
            "beat": [str(bin_dir / "celery"), "-A", "middleware", "beat", "--loglevel", "INFO",
                     "--schedule", str(Path(settings.VAR_DIR) / "celerybeat-schedule")],
        }
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_args) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)  # noqa: S603
            self._wait_healthy(app_url, children)
            self.stdout.write(self.style.SUCCESS(f"Service up: {app_url}/healthz"))
            if sandbox:
                load_url = sandbox.install_demo_store()
                order_id = sandbox.place_demo_order()
                self.stdout.write(f"Sandbox: demo storefront order {order_id} placed; its webhook was delivered")
                self.stdout.write(self.style.SUCCESS(f"Console: {load_url}"))
            self.stdout.write("Press Ctrl-C to stop.")
            self.stdout.flush()
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise SystemExit(f"{name} exited with status {child.returncode}")
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children.values():
                try:
                    child.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    child.kill()
            if sandbox:
                sandbox.stop()

    def _wait_healthy(self, app_url: str, children: dict[str, subprocess.Popen], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if children["web"].poll() is not None:
                raise SystemExit("web server exited during start-up")
            try:
                if requests.get(f"{app_url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{app_url}/healthz did not answer within {timeout:.0f}s")

