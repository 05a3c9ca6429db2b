"""Hostile and oversized CSV imports (issue 14, finding 9): `file` sent as a plain form field, a NUL in a cell,
numbers no product id can be, and files too large to read in a request. Each gets a clear 4xx (or, for a large
file, 202 with the file stored for a worker) and changes no product settings."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from feeds.models import ProductSettingsImport, ProductSubscriptionSetting
from feeds.products.tasks import product_settings_import_check
from tests.feeds.products.conftest import csv_text
from tests.feeds.products.test_import import COFFEE_CONFIGURED, _good_rows, _row, _upload

pytestmark = pytest.mark.django_db

IMPORTS = "/console/api/products/imports"


@pytest.mark.parametrize("column", ["Product ID", "SKU", "Name", "Autoship Eligible", "Frequency"])
def test_a_nul_in_a_cell_is_an_error_for_its_row_and_column(console_api, catalog, store, column):
    rows = _good_rows()
    rows[1][column] = rows[1][column][:2] + "\x00" + rows[1][column][2:]

    response = _upload(console_api, csv_text(rows))

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"row": 3, "column": column,
            "reason": "The cell contains a NUL character (\\0): remove it and upload again."} in errors
    assert not ProductSubscriptionSetting.objects.exists()
    assert ProductSettingsImport.objects.get().status == "rejected"


@pytest.mark.parametrize(("column", "value"), [
    *(("Product ID", pid) for pid in ("\u00b2", "\u0663", "9" * 30, "1_000", "1e3", "-5")),
    ("Frequency", COFFEE_CONFIGURED.replace("'option_id':133", "'option_id':" + "9" * 40)),
    ("Frequency", COFFEE_CONFIGURED.replace("'every':1", "'every':\u00b2")),
    ("Frequency", "[" * 5000 + "]" * 5000),
    ("Frequency", '[{"Name": "Once\\u0000", "option_id": 132, "every": 0, "every_period": 0, "is_default": true}]'),
    ("Frequency", '[{"Name": "Once\\ud800", "option_id": 132, "every": 0, "every_period": 0, "is_default": true}]'),
], ids=["superscript-two", "arabic-digit", "30-digits", "underscores", "exponent", "negative", "huge-option-id",
        "superscript-every", "deep-nesting", "json-nul", "lone-surrogate"])
def test_a_number_no_id_can_be_or_a_hostile_frequency_cell_is_a_row_error(console_api, catalog, store, column,
                                                                          value):
    rows = _good_rows()
    rows[0][column] = value

    response = _upload(console_api, csv_text(rows))

    assert response.status_code == 400
    assert any(e["row"] == 2 and e["column"] == column for e in response.json()["errors"])
    assert not ProductSubscriptionSetting.objects.exists()


@pytest.mark.parametrize("by", ["rows", "bytes"])
def test_a_large_file_is_only_stored_in_the_request_and_read_by_a_worker(
        console_api, catalog, store, fake_bc, settings, django_capture_on_commit_callbacks, by):
    rows = _good_rows() + [_row(200 + n, "FALSE", "", sku=f"X-{n}", name=f"Product {n}") for n in range(300)]
    if by == "rows":
        settings.PRODUCT_IMPORT_INLINE_MAX_ROWS = 100
    else:
        settings.PRODUCT_IMPORT_INLINE_MAX_BYTES = 4096
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = console_api.post(IMPORTS, {"file": SimpleUploadedFile("big.csv", csv_text(rows).encode())})

    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "checking" and len(callbacks) == 1
    assert not fake_bc.requests_to("GET", r"/v3/catalog/products")
    assert not ProductSubscriptionSetting.objects.exists()

    assert product_settings_import_check.apply((response.json()["id"],)).get() == "applied"
    assert ProductSubscriptionSetting.objects.filter(store=store).count() == 303
    assert ProductSettingsImport.objects.get().row_count == 303
