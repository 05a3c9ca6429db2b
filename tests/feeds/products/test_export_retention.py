"""Retention of CSV exports: finished exports (and their chunks) go after PRODUCT_EXPORT_RETENTION_DAYS; running
or queued ones and recent ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feeds.models import ProductExportChunk, ProductExportJob
from feeds.products.tasks import product_exports_prune

pytestmark = pytest.mark.django_db

S = ProductExportJob.Status


def _job(store, status: str, age_days: float) -> ProductExportJob:
    job = ProductExportJob.objects.create(store=store, status=status,
                                          created_at=timezone.now() - timedelta(days=age_days))
    ProductExportChunk.objects.bulk_create(
        [ProductExportChunk(job=job, page=page, rows=1, text=f"row {page}\n") for page in (1, 2, 3)])
    return job


def test_prune_deletes_old_finished_exports_with_their_chunks(store, settings):
    settings.PRODUCT_EXPORT_RETENTION_DAYS = 7
    old = {status: _job(store, status, 8) for status in S.values}
    new = {status: _job(store, status, 6) for status in S.values}

    assert product_exports_prune() == 2  # the Celery task body, as beat runs it daily

    kept = set(ProductExportJob.objects.values_list("pk", flat=True))
    assert kept == {old[S.QUEUED].pk, old[S.RUNNING].pk} | {job.pk for job in new.values()}
    assert set(ProductExportChunk.objects.values_list("job_id", flat=True)) == kept
    assert ProductExportChunk.objects.count() == 3 * len(kept)
