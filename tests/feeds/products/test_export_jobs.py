"""CSV exports are durable jobs (middleware.plumbing.jobs): an export the broker refused is sent by the sweep, a
dead worker's export is taken over after its lease, and an unfinished export continues from its row (a short
wait by a countdown message, a long rate-limit wait by the sweep once it is due)."""

from __future__ import annotations

import importlib
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from bigcommerce_app.client import client_for_store
from feeds.models import ProductExportChunk, ProductExportJob
from feeds.products import services, tasks
from tests.fakes import broker as fake_broker

pytestmark = pytest.mark.django_db

TASK = "feeds.product_export_run"


@pytest.fixture
def broker(monkeypatch):
    return fake_broker.install(monkeypatch)


def _started(console_api, django_capture_on_commit_callbacks) -> ProductExportJob:
    with django_capture_on_commit_callbacks(execute=True):
        response = console_api.post("/console/api/products/exports")
    assert response.status_code == 202, response.content
    return ProductExportJob.objects.get(pk=response.json()["id"])


def test_an_export_the_broker_refused_is_sent_by_the_sweep(console_api, catalog, broker,
                                                           django_capture_on_commit_callbacks):
    broker.down = True
    job = _started(console_api, django_capture_on_commit_callbacks)
    assert job.status == "queued" and job.next_attempt_at is not None  # marked due
    assert broker.ids(TASK) == []
    broker.down = False
    assert tasks.product_exports_sweep() == 1  # the beat task, every minute
    assert broker.ids(TASK) == [job.pk]
    assert tasks.product_export_run(job.pk)  # the worker then runs it to the end
    assert ProductExportJob.objects.get(pk=job.pk).status == "succeeded"


def test_an_export_whose_worker_died_is_taken_over_after_its_lease(console_api, catalog, broker,
                                                                   django_capture_on_commit_callbacks):
    job = _started(console_api, django_capture_on_commit_callbacks)
    assert broker.ids(TASK) == [job.pk]
    claimed_at = timezone.now()
    assert ProductExportJob.claim(job.pk, now=claimed_at)  # a worker takes it, then dies without a word
    assert services.product_exports_sweep() == 0  # its lease is live: nobody else may run it
    assert services.product_export_run(job.pk).done  # a duplicate message does nothing (not claimed)
    assert ProductExportJob.objects.get(pk=job.pk).attempts == 1

    later = claimed_at + ProductExportJob.job_lease() + timedelta(seconds=1)
    assert services.product_exports_sweep(now=later) == 1
    assert broker.ids(TASK) == [job.pk, job.pk]
    ProductExportJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # time passed
    assert tasks.product_export_run(job.pk)  # the new worker takes it over and finishes it
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2 and job.products_done == 3
    assert job.consecutive_failures == 0 and job.error == "" and job.lease_until is None


def test_an_export_whose_workers_keep_dying_fails_with_its_reason(console_api, catalog, broker,
                                                                  django_capture_on_commit_callbacks):
    job = _started(console_api, django_capture_on_commit_callbacks)
    expired = timezone.now() - timedelta(seconds=1)
    ProductExportJob.objects.filter(pk=job.pk).update(
        status="running", lease_until=expired, consecutive_failures=services.EXPORT_MAX_CONSECUTIVE_FAILURES - 1)
    assert services.product_export_run(job.pk).done
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "5 failures in a row" in job.error and "stopped reporting progress" in job.error


def test_an_unfinished_export_continues_after_its_slice(console_api, catalog, fake_bc, store, broker, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    for index in range(15):  # 18 products: two catalog pages of 10 (modifiers included)
        fake_bc.add_product("abc123", name=f"Product {index}", sku=f"P-{index}")
    job = _started(console_api, django_capture_on_commit_callbacks)
    client = client_for_store(store)
    page = client.products_page

    def slow_page(*args, **kwargs):
        time.sleep(0.05)
        return page(*args, **kwargs)

    monkeypatch.setattr(client, "products_page", slow_page)
    progress = services.product_export_run(job.pk, budget_seconds=0.01, client=client)  # one page, no more
    assert not progress.done and progress.resume_in == 0
    job.refresh_from_db()
    assert job.status == "running" and job.next_page == 2 and job.products_done == 10
    assert job.lease_until is None and job.next_attempt_at <= timezone.now()  # no worker holds it; due
    assert list(ProductExportChunk.objects.filter(job=job).values_list("page", flat=True)) == [1]

    assert services.product_export_continue(job.pk, progress)  # what the task does next: a message
    assert broker.ids(TASK) == [job.pk, job.pk]
    broker.down = True  # a lost continuation is in the row all the same: the sweep would send it
    assert services.product_exports_sweep() == 1
    assert tasks.product_export_run(job.pk)  # the next slice finishes the walk
    job.refresh_from_db()
    assert job.status == "succeeded" and job.products_done == job.products_total == 18 and job.attempts == 2
    rows = sum(ProductExportChunk.objects.filter(job=job).values_list("rows", flat=True))
    assert rows == 18


def test_a_long_rate_limit_wait_is_kept_in_the_row_for_the_sweep(console_api, catalog, fake_bc, store, broker,
                                                                 django_capture_on_commit_callbacks):
    fake_bc.quota, fake_bc.window_ms = 1, 60000  # one request per minute: far longer than a worker may sleep
    job = _started(console_api, django_capture_on_commit_callbacks)
    client = client_for_store(store)
    client.max_inline_wait = 0.5
    progress = services.product_export_run(job.pk, client=client)
    assert not progress.done and progress.resume_in > services.EXPORT_DIRECT_WAIT_SECONDS
    assert not services.product_export_continue(job.pk, progress)  # no message held in the broker
    assert broker.ids(TASK) == [job.pk]
    job.refresh_from_db()
    assert job.status == "running" and job.lease_until is None
    assert job.next_attempt_at > timezone.now() + timedelta(seconds=services.EXPORT_DIRECT_WAIT_SECONDS)
    assert services.product_export_run(job.pk).done  # not due: an early message does nothing (not claimed)
    assert ProductExportJob.objects.get(pk=job.pk).attempts == 1
    assert services.product_exports_sweep() == 0
    assert services.product_exports_sweep(now=job.next_attempt_at + timedelta(seconds=1)) == 1
    assert broker.ids(TASK) == [job.pk, job.pk]


def test_the_migration_leases_running_exports_from_their_heartbeat(store):
    migration = importlib.import_module("feeds.migrations.0009_product_export_job")
    beat = timezone.now() - timedelta(minutes=3)
    running = ProductExportJob.objects.create(store=store, status="running", started_at=beat, heartbeat_at=beat)
    queued = ProductExportJob.objects.create(store=store)
    done = ProductExportJob.objects.create(store=store, status="succeeded", started_at=beat, heartbeat_at=beat)
    migration.leases_from_heartbeats(apps, None)
    for job in (running, queued, done):
        job.refresh_from_db()
    assert running.lease_until == beat + ProductExportJob.job_lease() and running.attempts == 1
    assert queued.lease_until is None and queued.attempts == 0 and queued.status == "queued"
    assert done.lease_until is None and done.attempts == 1 and done.status == "succeeded"
