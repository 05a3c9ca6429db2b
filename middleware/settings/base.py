"""Settings shared by every environment.

Everything an operator may change comes from the environment (DECISIONS §1). The development and test
modules only change defaults; production refuses the development defaults outright.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


# --- Django core ---------------------------------------------------------------------------------------
SECRET_KEY = env("SECRET_KEY", "dev-insecure-secret-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "middleware",
    "bigcommerce_app",
    "feeds",
    "ordergroove",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "middleware.plumbing.security.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "middleware.plumbing.security.FramingPolicyMiddleware",
]

ROOT_URLCONF = "middleware.urls"
WSGI_APPLICATION = "middleware.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share one SQLite file in development: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "templates" / "static"]

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Service contract (DECISIONS §1) ---------------------------------------------------------------------
APP_URL = (env("APP_URL", "http://127.0.0.1:8000") or "").rstrip("/")
BIGCOMMERCE_CLIENT_ID = env("BIGCOMMERCE_CLIENT_ID", "")
BIGCOMMERCE_CLIENT_SECRET = env("BIGCOMMERCE_CLIENT_SECRET", "")
BIGCOMMERCE_LOGIN_URL = (env("BIGCOMMERCE_LOGIN_URL", "https://login.bigcommerce.com") or "").rstrip("/")
BIGCOMMERCE_API_URL = (env("BIGCOMMERCE_API_URL", "https://api.bigcommerce.com") or "").rstrip("/")
BIGCOMMERCE_PAYMENTS_URL = (env("BIGCOMMERCE_PAYMENTS_URL", "https://payments.bigcommerce.com") or "").rstrip("/")
# Sandbox mode: no BigCommerce credentials, so the run command starts the project's fakes instead.
SANDBOX_MODE = not (BIGCOMMERCE_CLIENT_ID and BIGCOMMERCE_CLIENT_SECRET)
# What `manage.py run` serves from this checkout right now (development reads var/run.json; see settings/dev.py).
RUNNING_SERVICE: dict | None = None

# Hosts allowed to frame the console (BigCommerce control panel), DECISIONS §2 / bigcommerce.md §1.8.
CONSOLE_FRAME_ANCESTORS = env_list(
    "CONSOLE_FRAME_ANCESTORS",
    "https://*.mybigcommerce.com,https://login.bigcommerce.com",
)
CONSOLE_TOKEN_MAX_AGE = int(env("CONSOLE_TOKEN_MAX_AGE", str(8 * 3600)) or 0)

# Outbound timeouts (DECISIONS §3.14), seconds.
ORDERGROOVE_TIMEOUT = float(env("ORDERGROOVE_TIMEOUT", "5") or 5)
BIGCOMMERCE_TIMEOUT = float(env("BIGCOMMERCE_TIMEOUT", "10") or 10)
SFTP_CONNECT_TIMEOUT = float(env("SFTP_CONNECT_TIMEOUT", "10") or 10)
# Where merchant-entered endpoints (Ordergroove, payment gateway, SFTP host) may point, checked at save and at
# connect time after DNS resolution (middleware/plumbing/outbound.py): "public" (default, production), "public+loopback"
# (development and the sandbox: its fakes listen on 127.0.0.1) or "loopback" (tests). https only unless turned off.
OUTBOUND_ALLOWED_ADDRESSES = env("OUTBOUND_ALLOWED_ADDRESSES", "public")
OUTBOUND_HTTPS_ONLY = env_bool("OUTBOUND_HTTPS_ONLY", True)
# A BigCommerce 429 is waited out inline only when the reset is this short; longer waits go back to the queue.
BIGCOMMERCE_MAX_INLINE_WAIT = float(env("BIGCOMMERCE_MAX_INLINE_WAIT", "15") or 15)
# Ordergroove's allowance (ordergroove/allowance.py): requests per minute this service spends per egress IP (90 % of
# the documented 6,000), which egress IP this process leaves through, how long a call may wait for its slot, and
# how far ahead purchase posts may be queued before status polls and updates are held back.
ORDERGROOVE_RATE_BUDGET_PER_MINUTE = int(env("ORDERGROOVE_RATE_BUDGET_PER_MINUTE", "5400") or 5400)
ORDERGROOVE_EGRESS_ID = env("ORDERGROOVE_EGRESS_ID", "default")
ORDERGROOVE_RATE_MAX_WAIT = float(env("ORDERGROOVE_RATE_MAX_WAIT", "5") or 5)
ORDERGROOVE_RATE_PRIORITY_GAP = float(env("ORDERGROOVE_RATE_PRIORITY_GAP", "0.5") or 0.5)

# --- Secrets at rest -------------------------------------------------------------------------------------
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")

# --- Redis / broker / cache -----------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
BROKER_DIR = VAR_DIR / "broker"

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "bcog",
        }
    }
else:
    # The embedded broker: kombu's filesystem transport needs no server and works across the web, worker
    # and beat processes of one machine.
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"  # a host named: kombu warns about every connection without one
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "middleware_cache",
        }
    }

# --- Celery (patterns-and-peers §2.4) --------------------------------------------------------------------
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Ride out a broker restart however long it lasts: Celery's default gives up after 100 reconnection attempts and the
# worker (and beat) exit. Tasks running when the connection drops finish (worker_cancel_long_running_tasks_on_
# connection_loss stays False, as in Celery 5): their rows' claims and leases make a redelivery harmless.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
if REDIS_URL and REDIS_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "middleware.plumbing.broker:Transport"  # kombu's, riding out a Redis restart (see there)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = False
# Celery's Django fixup closes the database connections around every task unless this is set (then only every
# 2 × N task boundaries); connection age and health are handled like a web request's instead (middleware/celery.py).
CELERY_DB_REUSE_MAX = 1000

# --- REST framework / OpenAPI ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BigCommerce–Ordergroove middleware",
    "DESCRIPTION": "Every JSON endpoint of the service (DECISIONS §2).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Alerts ------------------------------------------------------------------------------------------------
ALERT_EMAILS = env_list("ALERT_EMAILS")
# GET /metrics (Prometheus text format) answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset: off.
METRICS_TOKEN = env("METRICS_TOKEN", "") or ""
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "middleware@localhost")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# --- Logging: JSON-ish lines, secrets redacted by a filter on every handler -------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO")
# Celery's line per task received/succeeded and beat's per task sent: with beat's 15-second ticks they bury
# everything else in a terminal, so `manage.py run` sets this to WARNING unless --verbose.
TASK_LOG_LEVEL = env("TASK_LOG_LEVEL", LOG_LEVEL)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "middleware.plumbing.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "paramiko": {"level": "WARNING"},
        "celery.app.trace": {"level": TASK_LOG_LEVEL},
        "celery.worker.strategy": {"level": TASK_LOG_LEVEL},
        "celery.beat": {"level": TASK_LOG_LEVEL},
    },
}

# Webhook intake admission control (middleware/plumbing/admission.py, gunicorn worker class
# middleware.plumbing.admission.ThreadWorker):
# a delivery that waited longer than this for a web thread is answered 503 unstored; 0 turns shedding off.
INBOX_MAX_QUEUE_SECONDS = float(env("INBOX_MAX_QUEUE_SECONDS", "0.5"))

# --- Retention (daily prune tasks) ----------------------------------------------------------------------
INBOX_RETENTION_DAYS = int(env("INBOX_RETENTION_DAYS", "30"))  # handled webhooks; failed/pending are kept
PRODUCT_EXPORT_RETENTION_DAYS = int(env("PRODUCT_EXPORT_RETENTION_DAYS", "7"))  # finished CSV exports

# Failed deliveries or webhooks one console "Replay all failed" request replays (the rest: press again).
CONSOLE_BULK_REPLAY_LIMIT = int(env("CONSOLE_BULK_REPLAY_LIMIT", "500"))
# Product CSV imports with more subscription products than this are checked against the catalog by a worker.
PRODUCT_IMPORT_INLINE_MAX_PRODUCTS = int(env("PRODUCT_IMPORT_INLINE_MAX_PRODUCTS", "200"))
# ...and files larger than these are not even read in the request: it stores the file and answers 202 checking.
PRODUCT_IMPORT_INLINE_MAX_BYTES = int(env("PRODUCT_IMPORT_INLINE_MAX_BYTES", str(512 * 1024)))
PRODUCT_IMPORT_INLINE_MAX_ROWS = int(env("PRODUCT_IMPORT_INLINE_MAX_ROWS", "2000"))
# The largest product CSV an import takes (413 above it).
PRODUCT_IMPORT_MAX_UPLOAD_BYTES = int(env("PRODUCT_IMPORT_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))

# --- Periodic tasks: each app declares its own in <app>/schedule.py -----------------------------------------
from bigcommerce_app.schedule import BEAT_SCHEDULE as _BC_SCHEDULE  # noqa: E402
from feeds.schedule import BEAT_SCHEDULE as _FEEDS_SCHEDULE  # noqa: E402
from ordergroove.schedule import BEAT_SCHEDULE as _OG_SCHEDULE  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    "middleware-heartbeat": {"task": "middleware.heartbeat", "schedule": 15.0},
    **_BC_SCHEDULE, **_OG_SCHEDULE, **_FEEDS_SCHEDULE,
}
