"""Production: every secret must come from the environment; development defaults are refused."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    ALLOWED_HOSTS,
    APP_URL,
    BIGCOMMERCE_CLIENT_ID,
    BIGCOMMERCE_CLIENT_SECRET,
    FIELD_ENCRYPTION_KEYS,
    REDIS_URL,
    SECRET_KEY,
    env,
    env_bool,
)

DEBUG = env_bool("DEBUG", False)

_problems = []
if not SECRET_KEY or SECRET_KEY.startswith("dev-insecure") or len(SECRET_KEY) < 32:
    _problems.append("SECRET_KEY must be set to a random value of 32+ characters")
if not FIELD_ENCRYPTION_KEYS:
    _problems.append("FIELD_ENCRYPTION_KEYS must be set (comma-separated Fernet keys, newest first)")
if not (BIGCOMMERCE_CLIENT_ID and BIGCOMMERCE_CLIENT_SECRET):
    _problems.append("BIGCOMMERCE_CLIENT_ID and BIGCOMMERCE_CLIENT_SECRET must be set")
if not env("DATABASE_URL"):
    _problems.append("DATABASE_URL must be set")
if not REDIS_URL:
    _problems.append("REDIS_URL must be set")
if not APP_URL.startswith("https://"):
    _problems.append("APP_URL must be an https:// URL")
if DEBUG:
    _problems.append("DEBUG must be off")
if set(ALLOWED_HOSTS) <= {"127.0.0.1", "localhost", "testserver"}:
    _problems.append("ALLOWED_HOSTS must name the public host")
if _problems:
    raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(_problems))

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
