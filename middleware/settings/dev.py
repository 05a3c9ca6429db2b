"""Development: embedded defaults (SQLite, filesystem broker), keys generated into var/ on first run."""

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet

from .base import *  # noqa: F403
from .base import FIELD_ENCRYPTION_KEYS, SANDBOX_MODE, VAR_DIR, env, env_bool

DEBUG = env_bool("DEBUG", True)

# The sandbox's fake Ordergroove and SFTP server listen on 127.0.0.1 over plain http (middleware/plumbing/outbound.py).
OUTBOUND_ALLOWED_ADDRESSES = env("OUTBOUND_ALLOWED_ADDRESSES", "public+loopback")
OUTBOUND_HTTPS_ONLY = env_bool("OUTBOUND_HTTPS_ONLY", False)

if not FIELD_ENCRYPTION_KEYS:
    key_file = VAR_DIR / "field_encryption_keys"
    if not key_file.exists():
        key_file.write_text(Fernet.generate_key().decode() + "\n")
        key_file.chmod(0o600)
    FIELD_ENCRYPTION_KEYS = [k.strip() for k in key_file.read_text().split(",") if k.strip()]

# Static files straight from templates/static (no collectstatic in development).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True


def _running_service(path: Path) -> dict | None:
    """var/run.json while a `manage.py run` of this checkout is alive (it removes the file when it stops; a file
    left by a killed run names a dead process and is ignored)."""
    try:
        state = json.loads(path.read_text())
        pid = int(state["pid"])
        os.kill(pid, 0)
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.parent.exists() and b"manage.py" not in cmdline.read_bytes():
            return None  # the pid was handed to another program
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


# A command started from another terminal while `make run` serves the sandbox (`manage.py og_send ...`) talks to the
# same service and the same fake BigCommerce: only the run command knows the ports its fakes got.
RUNNING_SERVICE = _running_service(VAR_DIR / "run.json")
if RUNNING_SERVICE and SANDBOX_MODE:
    if env("APP_URL") is None:
        APP_URL = RUNNING_SERVICE["app_url"]
    _fakes = RUNNING_SERVICE.get("sandbox") or {}
    BIGCOMMERCE_LOGIN_URL = _fakes.get("BIGCOMMERCE_LOGIN_URL", BIGCOMMERCE_LOGIN_URL)  # noqa: F405
    BIGCOMMERCE_API_URL = _fakes.get("BIGCOMMERCE_API_URL", BIGCOMMERCE_API_URL)  # noqa: F405
    BIGCOMMERCE_PAYMENTS_URL = _fakes.get("BIGCOMMERCE_PAYMENTS_URL", BIGCOMMERCE_PAYMENTS_URL)  # noqa: F405
