"""Development: embedded defaults (SQLite, filesystem broker), keys generated into var/ on first run."""

from cryptography.fernet import Fernet

from .base import *  # noqa: F403
from .base import FIELD_ENCRYPTION_KEYS, VAR_DIR, env, env_bool

DEBUG = env_bool("DEBUG", True)

# The sandbox's fake Ordergroove and SFTP server listen on 127.0.0.1 over plain http (middleware/outbound.py).
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
