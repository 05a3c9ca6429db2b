"""Tests: PostgreSQL and Redis when this machine has them (always under CI=true), SQLite otherwise.

Test runs of different checkouts on one machine never share a test database, a Celery queue or a cache key: the
run id defaults to a digest of the checkout's absolute path (TEST_RUN_ID overrides it, e.g. for two runs of one
checkout). A Redis database number alone could not isolate them (there are 16), so every broker key, queue and
pub/sub channel carries the run id as a prefix (kombu's global_keyprefix), and so does every cache key.
"""

import hashlib
import os
import socket
import zlib

import dj_database_url

from .base import *  # noqa: F403
from .base import BASE_DIR, VAR_DIR, env


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


CI = os.environ.get("CI", "").lower() == "true"
RUN_ID = os.environ.get("TEST_RUN_ID") or "co" + hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:10]

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789"
APP_URL = "http://testserver"
BIGCOMMERCE_CLIENT_ID = "test-client-id-0123456789abcdef"
BIGCOMMERCE_CLIENT_SECRET = "test-client-secret-0123456789abcdef"
SANDBOX_MODE = False
FIELD_ENCRYPTION_KEYS = ["u3Q1mHkYv6Ks2x5k9pJ0cTqM8eX4wR7nB2fL1aZ6yD0="]
ALLOWED_HOSTS = ["*"]
# Tests reach the fakes on 127.0.0.1 and nothing else, whatever a test or the fuzzer types into a setting.
OUTBOUND_ALLOWED_ADDRESSES = "loopback"
OUTBOUND_HTTPS_ONLY = False

# TEST_DATABASE=sqlite: SQLite even where PostgreSQL answers (tests that prove a guarantee on both databases run
# themselves again this way).
POSTGRES_AVAILABLE = env("TEST_DATABASE") != "sqlite" and (bool(env("DATABASE_URL")) or _reachable("127.0.0.1", 5432))
REDIS_AVAILABLE = bool(env("REDIS_URL")) or _reachable("127.0.0.1", 6379)

if POSTGRES_AVAILABLE:
    DATABASES = {
        "default": dj_database_url.parse(
            env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"), conn_max_age=0
        )
    }
    DATABASES["default"]["TEST"] = {"NAME": f"test_bcog_{RUN_ID}"}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / f"test_{RUN_ID}.sqlite3"),
            "TEST": {"NAME": str(VAR_DIR / f"test_{RUN_ID}.sqlite3")},
            "OPTIONS": {"timeout": 20},
        }
    }

if REDIS_AVAILABLE:
    REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/" + str(zlib.crc32(RUN_ID.encode()) % 14 + 1))
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT = "middleware.plumbing.broker:Transport"
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"bcog-test-{RUN_ID}",
        }
    }
else:
    REDIS_URL = None
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT = None
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "global_keyprefix": f"bcog-test-{RUN_ID}:"}
TEST_ARTIFACTS_DIR = BASE_DIR / "test-artifacts"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
