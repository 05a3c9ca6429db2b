"""Settings for bench/webhooks.py: production-like (DEBUG off, no sandbox), PostgreSQL and a Redis broker that
the bench starts for itself, and the bench-only URL module with a bare Django view next to the real URLs."""

import os

import dj_database_url

from middleware.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.webhooks_urls"
BIGCOMMERCE_CLIENT_ID = "bench-client-id-0123456789abcdef"
BIGCOMMERCE_CLIENT_SECRET = "bench-client-secret-0123456789abcdef"
SANDBOX_MODE = False
FIELD_ENCRYPTION_KEYS = ["Vm1dR6y0k2lX8nF3cQ7sT1wZ4bH9jP5aE0uY2iO6gKc="]
DATABASES = {"default": dj_database_url.parse(os.environ["BENCH_DATABASE_URL"], conn_max_age=600)}
BIGCOMMERCE_API_URL = os.environ.get("BIGCOMMERCE_API_URL", "http://127.0.0.1:9")
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# The bench's fake Ordergroove listens on 127.0.0.1 over plain http (middleware/plumbing/outbound.py).
OUTBOUND_ALLOWED_ADDRESSES = "loopback"
OUTBOUND_HTTPS_ONLY = False
