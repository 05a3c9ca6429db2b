"""Celery entry points of the product CSV feature (thin: each calls a service)."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from feeds.models.products import IMPORT_CHECK_TIME_LIMIT
from feeds.products import imports, services


@shared_task(name="feeds.product_export_run", acks_late=True)
def product_export_run(job_id: int) -> bool:
    """One slice of an export (a durable job: claimed with a lease each page renews). An unfinished export
    continues from its row: after a short wait by a countdown message, after a long one by the sweep; nothing
    sleeps in the worker for long."""
    progress = services.product_export_run(job_id)
    if not progress.done:
        services.product_export_continue(job_id, progress)
    return progress.done


@shared_task(name="feeds.product_exports_sweep")
def product_exports_sweep() -> int:
    return services.product_exports_sweep()


@shared_task(name="feeds.product_settings_import_check", acks_late=True, soft_time_limit=1800,
             time_limit=IMPORT_CHECK_TIME_LIMIT)
def product_settings_import_check(import_id: int) -> str:
    """A large import's live catalog check and its decision. Its own time limit: at BigCommerce's 10 products
    a call and a store's rate limit, thousands of subscription products take minutes, not the default limit."""
    try:
        record = imports.product_settings_import_check(import_id)
    except SoftTimeLimitExceeded:  # whatever was being applied rolled back with its transaction
        record = imports.product_settings_import_reject(
            import_id, "The check against the BigCommerce catalog took longer than 30 minutes; nothing was "
                       "applied — try again later, or import the file in parts.")
    return record.status if record is not None else "already decided"


@shared_task(name="feeds.product_exports_prune")
def product_exports_prune() -> int:
    return services.product_exports_prune()


@shared_task(name="feeds.product_import_checks_sweep")
def product_import_checks_sweep() -> int:
    return imports.product_import_checks_sweep()
