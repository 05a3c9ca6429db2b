"""Celery tasks of this app (thin: each calls a service). Feature modules' tasks are imported here so that
the worker's autodiscovery registers them."""

from feeds.feed.tasks import feed_run_execute, feed_schedule_tick, feed_staleness_check  # noqa: E402,F401
from feeds.products.tasks import (  # noqa: E402,F401
    product_export_run,
    product_import_checks_sweep,
    product_settings_import_check,
)
