"""The README's run command on embedded defaults: SQLite, the filesystem broker, no server to install.

Runs `manage.py run` as a newcomer would, in sandbox mode (no BigCommerce credentials), and checks that the
service answers, the demo store's console opens, and beat → broker → worker really runs tasks asynchronously.
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

import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_command_serves_the_sandbox_console_and_runs_tasks_async(tmp_path):
    port = _free_port()
    app_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "BIGCOMMERCE_CLIENT_ID", "BIGCOMMERCE_CLIENT_SECRET",
                        "DJANGO_SETTINGS_MODULE"}}
    env.update({"VAR_DIR": str(tmp_path / "var"), "APP_URL": app_url})
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "manage.py", "run", "--web-workers", "1",
                                    "--worker-concurrency", "1"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        console_url = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and console_url is None:
            assert process.poll() is None, log_path.read_text()[-3000:]
            match = re.search(r"Console: (\S+)", log_path.read_text())
            console_url = match.group(1) if match else None
            time.sleep(0.5)
        assert console_url, log_path.read_text()[-3000:]

        assert requests.get(f"{app_url}/healthz", timeout=5).json() == {"status": "ok"}
        page = requests.get(console_url, timeout=10)
        assert page.status_code == 200 and "Store sandbox1" in page.text
        # The demo storefront carries the storefront script the service installed through the Scripts API.
        shop_url = re.search(r"demo storefront \(sign in as [^)]*\) at (\S+)", log_path.read_text()).group(1)
        assert f'data-og-app="{app_url}"' in requests.get(shop_url + "/", timeout=10).text
        assert (tmp_path / "var" / "db.sqlite3").exists()  # embedded database
        assert (tmp_path / "var" / "broker").is_dir()  # embedded broker

        heartbeat = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and heartbeat is None:
            ready = requests.get(f"{app_url}/readyz", timeout=5).json()
            assert ready["checks"]["database"] == "ok" and ready["checks"]["broker"] == "ok"
            heartbeat = ready["checks"]["worker_heartbeat_age_s"]
            time.sleep(1)
        assert heartbeat is not None, "beat → worker round trip never happened:\n" + log_path.read_text()[-3000:]

        # The demo storefront order's webhook went through the inbox and the worker to the fake Ordergroove.
        token = parse_qs(urlsplit(page.url).query)["t"][0]
        delivered = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and delivered is None:
            deliveries = requests.get(f"{app_url}/console/api/activity/deliveries",
                                      headers={"X-Console-Token": token}, timeout=5).json()
            delivered = next((d for d in deliveries if d["kind"] == "purchase_post"
                              and d["status"] == "succeeded"), None)
            time.sleep(1)
        assert delivered, "the demo order's purchase post never succeeded:\n" + log_path.read_text()[-3000:]
        assert delivered["subs_req_id"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
