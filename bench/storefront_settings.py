"""Settings for bench/storefront.py: production-like (no sandbox, DEBUG off, real BigCommerce app credentials
shape), a throwaway SQLite file, Redis as the cache when it is running (as in production), and the bench-only
URL module that adds a bare Django view next to the real URLs."""

import os

from middleware.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.storefront_urls"
BIGCOMMERCE_CLIENT_ID = "bench-client-id-0123456789abcdef"
BIGCOMMERCE_CLIENT_SECRET = "bench-client-secret-0123456789abcdef"
SANDBOX_MODE = False
FIELD_ENCRYPTION_KEYS = ["Vm1dR6y0k2lX8nF3cQ7sT1wZ4bH9jP5aE0uY2iO6gKc="]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DB"],
                         "CONN_MAX_AGE": 60}}
if os.environ.get("BENCH_REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["BENCH_REDIS_URL"], "KEY_PREFIX": os.environ["BENCH_CACHE_PREFIX"]}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# One bench customer set hammers the endpoint from one IP: the limits are measured, not hit.
STOREFRONT_RATE_PER_CUSTOMER = "1000000000/m"
STOREFRONT_RATE_PER_IP = "1000000000/m"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# The bench's fake Ordergroove listens on 127.0.0.1 over plain http (middleware/plumbing/outbound.py).
OUTBOUND_ALLOWED_ADDRESSES = "loopback"
OUTBOUND_HTTPS_ONLY = False
