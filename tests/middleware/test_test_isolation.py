"""Two checkouts testing at once on one machine do not share a test database, a Celery queue or a cache key, even
when neither sets TEST_RUN_ID (issue 15 stumble 5: both used Redis database 9 and took each other's tasks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("middleware", "bigcommerce_app", "feeds", "ordergroove")
PRINT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({"db": settings.DATABASES["default"]["TEST"]["NAME"], "broker": settings.CELERY_BROKER_URL,
                  "transport": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                  "cache": settings.CACHES["default"].get("KEY_PREFIX", "")}))
"""


def _test_settings_of(checkout: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TEST_RUN_ID"}
    env.update(DJANGO_SETTINGS_MODULE="middleware.settings.test", VAR_DIR=str(checkout / "var"))
    result = subprocess.run([sys.executable, "-c", PRINT_SETTINGS], cwd=checkout, env=env, capture_output=True,
                            text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def two_checkouts(tmp_path_factory):
    """This checkout and a copy of its code at another path, each as `make test` would configure itself."""
    other = tmp_path_factory.mktemp("other-checkout")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, other / package, ignore=shutil.ignore_patterns("__pycache__"))
    return _test_settings_of(ROOT), _test_settings_of(other)


def test_checkouts_derive_their_own_database_queue_prefix_and_cache_prefix(two_checkouts):
    here, there = two_checkouts
    assert here["db"] != there["db"]
    assert here["cache"] != there["cache"]
    if here["broker"].startswith("redis://"):
        assert here["transport"]["global_keyprefix"] != there["transport"]["global_keyprefix"]


@pytest.mark.integration
def test_a_task_sent_by_one_checkout_is_not_seen_by_the_other_even_on_one_redis_database(two_checkouts):
    here, there = two_checkouts
    broker = django_settings.CELERY_BROKER_URL  # the same Redis database for both: the worst case
    apps = [Celery(f"checkout{i}", broker=broker, set_as_current=False) for i in (1, 2)]
    for app, conf in zip(apps, two_checkouts, strict=True):
        app.conf.broker_transport_options = conf["transport"]
    try:
        for app in apps:
            app.control.purge()
        apps[0].send_task("middleware.heartbeat")
        assert apps[1].control.purge() == 0  # the other checkout's worker would find nothing
        assert apps[0].control.purge() == 1
    finally:
        for app in apps:
            app.close()
