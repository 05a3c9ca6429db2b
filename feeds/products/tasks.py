"""Celery entry points of the product CSV feature (thin: each calls a service)."""

from __future__ import annotations

from celery import shared_task

from feeds.products import services


@shared_task(name="feeds.product_export_run", acks_late=True)
def product_export_run(job_id: int) -> bool:
    """One slice of an export; re-enqueues itself until the catalog is walked. Rate-limit resets are short
    (BigCommerce windows are seconds), so they ride a countdown; nothing sleeps in the worker for long."""
    progress = services.product_export_run(job_id)
    if not progress.done:
        product_export_run.apply_async((job_id,), countdown=max(progress.resume_in or 0, 0))
    return progress.done


@shared_task(name="feeds.product_exports_prune")
def product_exports_prune() -> int:
    return services.product_exports_prune()
