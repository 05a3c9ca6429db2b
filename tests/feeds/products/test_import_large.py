"""A product CSV with more subscription products than an upload request can check against the live catalog
(BigCommerce returns 10 products a call with their modifiers): it is kept, answered 202 "checking", and checked,
applied or rejected by a worker, with the same all-or-nothing rules as a small file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feeds.models import ProductSettingsImport, ProductSubscriptionSetting
from feeds.products.tasks import product_import_checks_sweep, product_settings_import_check
from tests.fakes import broker as fake_broker
from tests.feeds.products.conftest import csv_text
from tests.feeds.products.test_import import COFFEE_CONFIGURED, _good_rows, _row, _upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_product_inline(settings):
    """Files with more than one subscription product go to the worker."""
    settings.PRODUCT_IMPORT_INLINE_MAX_PRODUCTS = 1


def _queue(console_api, rows, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _upload(console_api, csv_text(rows))
    assert response.status_code == 202, response.json()
    assert len(callbacks) == 1  # the check is enqueued once the import row is committed
    return response.json()


def test_a_large_file_is_checked_by_a_worker_then_applied(console_api, catalog, store, fake_bc,
                                                          django_capture_on_commit_callbacks):
    queued = _queue(console_api, _good_rows(), django_capture_on_commit_callbacks)
    assert queued["status"] == "checking" and queued["stalled"] is False and queued["row_count"] == 3
    assert not fake_bc.requests_to("GET", r"/v3/catalog/products")  # no catalog call in the upload request
    assert not ProductSubscriptionSetting.objects.filter(store=store).exists()

    assert product_settings_import_check.apply((queued["id"],)).get() == "applied"
    detail = console_api.get(f"/console/api/products/imports/{queued['id']}").json()
    assert detail["status"] == "applied" and detail["summary"] == {"added": 3, "changed": 0, "unchanged": 0}
    assert ProductSubscriptionSetting.objects.get(store=store, bc_product_id=111).modifier_id == 501
    assert ProductSettingsImport.objects.get(pk=queued["id"]).upload is None  # the file is not kept once decided

    # A second delivery of the task (acks_late redelivery) finds it decided and changes nothing.
    assert product_settings_import_check.apply((queued["id"],)).get() == "already decided"
    assert ProductSettingsImport.objects.filter(store=store).count() == 1


def test_a_large_file_with_catalog_errors_is_rejected_by_the_worker_and_changes_nothing(
        console_api, catalog, store, django_capture_on_commit_callbacks):
    rows = [_row(111, "TRUE", COFFEE_CONFIGURED.replace("'option_id':134", "'option_id':999")),
            _row(987654, "TRUE", COFFEE_CONFIGURED)]
    queued = _queue(console_api, rows, django_capture_on_commit_callbacks)
    assert product_settings_import_check.apply((queued["id"],)).get() == "rejected"
    detail = console_api.get(f"/console/api/products/imports/{queued['id']}").json()
    reasons = {e["row"]: (e["column"], e["reason"]) for e in detail["errors"]}
    assert "option_id 999" in reasons[2][1]
    assert reasons[3] == ("Product ID", "Product 987654 does not exist in the BigCommerce catalog.")
    assert not ProductSubscriptionSetting.objects.filter(store=store).exists()


def test_a_large_import_applied_after_a_later_small_one_is_the_one_to_roll_back(
        console_api, catalog, store, django_capture_on_commit_callbacks):
    large = _queue(console_api, _good_rows(), django_capture_on_commit_callbacks)
    small = _upload(console_api, csv_text(_good_rows()[:2])).json()  # one subscription product: checked inline
    assert small["status"] == "applied"
    product_settings_import_check.apply((large["id"],)).get()

    refused = console_api.post(f"/console/api/products/imports/{small['id']}/rollback")
    assert refused.status_code == 409 and f"import #{large['id']} was applied after" in refused.json()["detail"]
    assert console_api.post(f"/console/api/products/imports/{large['id']}/rollback").status_code == 200
    # The large import's "before" was the small import's result, which is what is in force again.
    assert ProductSubscriptionSetting.objects.filter(store=store).count() == 2


def test_a_check_that_starts_too_late_rejects_the_file_instead_of_applying_it(
        console_api, catalog, store, django_capture_on_commit_callbacks):
    queued = _queue(console_api, _good_rows(), django_capture_on_commit_callbacks)
    ProductSettingsImport.objects.filter(pk=queued["id"]).update(created_at=timezone.now() - timedelta(minutes=11))
    assert product_settings_import_check.apply((queued["id"],)).get() == "rejected"
    detail = console_api.get(f"/console/api/products/imports/{queued['id']}").json()
    assert "did not start in time" in detail["errors"][0]["reason"]
    assert not ProductSubscriptionSetting.objects.filter(store=store).exists()


def test_the_worker_waits_out_a_brief_bigcommerce_outage(console_api, catalog, store, fake_bc, settings,
                                                         django_capture_on_commit_callbacks):
    settings.PRODUCT_IMPORT_CHECK_RETRY_SECONDS = 0  # no sleeping in tests; the attempts are what matter
    queued = _queue(console_api, _good_rows(), django_capture_on_commit_callbacks)
    fake_bc.fail("GET", r"/v3/catalog/products$", status=503, count=2)
    assert product_settings_import_check.apply((queued["id"],)).get() == "applied"
    assert ProductSubscriptionSetting.objects.filter(store=store).count() == 3


def test_a_lasting_outage_rejects_the_file_with_the_reason(console_api, catalog, store, fake_bc, settings,
                                                          django_capture_on_commit_callbacks):
    settings.PRODUCT_IMPORT_CHECK_RETRY_SECONDS = 0
    queued = _queue(console_api, _good_rows(), django_capture_on_commit_callbacks)
    fake_bc.fail("GET", r"/v3/catalog/products$", status=503, count=50)
    assert product_settings_import_check.apply((queued["id"],)).get() == "rejected"
    detail = console_api.get(f"/console/api/products/imports/{queued['id']}").json()
    assert "BigCommerce could not be asked for the products' modifiers" in detail["errors"][0]["reason"]
    assert len(fake_bc.requests_to("GET", r"/v3/catalog/products$")) == 5  # IMPORT_CHECK_ATTEMPTS, then gave up
    assert not ProductSubscriptionSetting.objects.filter(store=store).exists()


def test_in_the_upload_request_a_bigcommerce_error_rejects_at_once(console_api, catalog, store, fake_bc, settings):
    settings.PRODUCT_IMPORT_INLINE_MAX_PRODUCTS = 200
    fake_bc.fail("GET", r"/v3/catalog/products$", status=503, count=1)
    response = _upload(console_api, csv_text(_good_rows()))
    assert response.status_code == 400 and "try again in a minute" in response.json()["errors"][0]["reason"]
    assert len(fake_bc.requests_to("GET", r"/v3/catalog/products$")) == 1  # no waiting inside a web request


def test_a_check_given_up_is_rejected_once_and_changes_nothing(console_api, catalog, store,
                                                               django_capture_on_commit_callbacks):
    """What the task does when its 30-minute soft limit interrupts the check (feeds/products/tasks.py)."""
    from feeds.products.imports import product_settings_import_reject

    queued = _queue(console_api, _good_rows(), django_capture_on_commit_callbacks)
    record = product_settings_import_reject(queued["id"], "The check took longer than 30 minutes")
    assert record.status == "rejected" and record.errors[0]["reason"] == "The check took longer than 30 minutes"
    assert ProductSettingsImport.objects.get(pk=queued["id"]).upload is None
    assert product_settings_import_reject(queued["id"], "again") is None  # decided already: left as it is
    assert product_settings_import_check.apply((queued["id"],)).get() == "already decided"
    assert not ProductSubscriptionSetting.objects.filter(store=store).exists()


def test_a_check_the_broker_refused_is_sent_by_the_sweep(console_api, catalog, store, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    broker = fake_broker.install(monkeypatch)
    broker.down = True
    with django_capture_on_commit_callbacks(execute=True):
        queued = _upload(console_api, csv_text(_good_rows())).json()
    assert queued["status"] == "checking" and queued["stalled"] is False
    record = ProductSettingsImport.objects.get(pk=queued["id"])
    assert record.check_status == "pending" and record.next_attempt_at is not None  # marked due for the sweep

    broker.down = False
    assert product_import_checks_sweep.apply().get() == 1
    assert broker.ids("feeds.product_settings_import_check") == [queued["id"]]
    assert product_settings_import_check.apply((queued["id"],)).get() == "applied"
    assert product_import_checks_sweep.apply().get() == 0  # decided: nothing left to send
