"""Secrets in URLs never reach gunicorn's access log (issue 14, finding 11): the console token travels as `?t=`
(valid for hours), BigCommerce's callbacks carry `signed_payload_jwt` and the OAuth `code`. A real gunicorn runs
the project's WSGI app with the access-log options of docker/entrypoint.sh and of the run command
(`--access-logfile -`), and the log it writes is read back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

BIN = Path(sys.executable).parent
TOKEN = "eyJ1IjoxMjMsInMiOiJhYmMxMjMifQ:1wXyZq:Secret-Console-Token-Value-0123456789"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdG9yZXMvYWJjMTIzIn0.Secret-Signed-Payload-Signature"
CODE = "secret-oauth-code-qwertyuiop"

# The access-log options the deployments pass (docker/entrypoint.sh; middleware/management/commands/run.py).
DEPLOYMENTS = {
    "docker": ["--workers", "1", "--threads", "2", "--timeout", "30", "--access-logfile", "-",
               "--forwarded-allow-ips", "*"],
    "run-command": ["--workers", "1", "--threads", "4", "--timeout", "60", "--access-logfile", "-",
                    "--log-level", "warning"],
}


def _get(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("deployment", sorted(DEPLOYMENTS))
def test_console_tokens_and_callback_secrets_are_redacted_from_the_access_log(tmp_path, deployment):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # handed to gunicorn as an open descriptor: no port race
    listener.listen(64)
    port = listener.getsockname()[1]
    log_path = tmp_path / "gunicorn.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "middleware.settings.test", "PYTHONUNBUFFERED": "1"}
    command = [str(BIN / "gunicorn"), "middleware.wsgi:application", "--bind", f"fd://{listener.fileno()}",
               *DEPLOYMENTS[deployment]]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   pass_fds=(listener.fileno(),))
    listener.close()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/healthz") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)
        statuses = [
            _get(f"{base}/console/?t={TOKEN}&tab=settings"),
            _get(f"{base}/console/settings/?tab=1&t={TOKEN}"),
            _get(f"{base}/bigcommerce/load?signed_payload_jwt={JWT}"),
            _get(f"{base}/healthz?code={CODE}&scope=store_v2_orders&context=stores/abc123"),
            _get(f"{base}/healthz", headers={"Referer": f"https://store-abc123.mybigcommerce.com/x?t={TOKEN}"}),
        ]
        time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(30)

    text = log_path.read_text()
    assert all(status < 500 for status in statuses), (statuses, text[-3000:])
    assert text.count("/console/") >= 2 and "/bigcommerce/load" in text  # the requests are in the log...
    for secret in (TOKEN, JWT, CODE, "Secret-Console-Token", "Secret-Signed-Payload", "secret-oauth-code"):
        assert secret not in text  # ...their secrets are not
    assert text.count("t=[REDACTED]") >= 3 and "code=[REDACTED]" in text
    assert "tab=settings" in text and "scope=store_v2_orders" in text  # ordinary parameters stay readable
