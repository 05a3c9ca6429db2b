"""The Import/Export tab's JSON API (`/console/api/products/...`): what it takes on the wire (a file part or a
text/csv body, up to the upload limit), its paging, and that every lookup is scoped to the console token's store.
The import's own rules (rows, frequencies, rollback) are tested with the flow in tests/feeds/products."""

from __future__ import annotations

import pytest

from bigcommerce_app.console.auth import console_token_issue
from feeds.models import ProductSettingsImport, ProductSubscriptionSetting
from tests.feeds.products.conftest import csv_text
from tests.feeds.products.test_import import _good_rows, _upload

pytestmark = pytest.mark.django_db

IMPORTS = "/console/api/products/imports"


def test_imports_are_scoped_to_the_consoles_store(client, console_api, catalog, install_store):
    record = _upload(console_api, csv_text(_good_rows())).json()
    other = install_store("xyz789")
    headers = {"X-Console-Token": console_token_issue(other.users.first())}
    assert client.get(f"/console/api/products/imports/{record['id']}", headers=headers).status_code == 404
    assert client.post(f"/console/api/products/imports/{record['id']}/rollback", headers=headers).status_code == 404
    assert client.get("/console/api/products/settings", headers=headers).json() == {"count": 0, "results": []}
    mine = console_api.get("/console/api/products/settings").json()
    assert mine["count"] == 3 and mine["results"][0]["bc_product_id"] == 111


def test_file_sent_as_a_plain_form_field_is_a_400_that_says_so(console_api, catalog, store):
    response = console_api.post(IMPORTS, {"file": csv_text(_good_rows())})

    assert response.status_code == 400
    assert "file part" in response.json()["detail"]
    assert not ProductSettingsImport.objects.exists()
    assert not ProductSubscriptionSetting.objects.exists()


def test_a_file_over_the_upload_limit_is_413_and_changes_nothing(console_api, catalog, store, settings):
    settings.PRODUCT_IMPORT_MAX_UPLOAD_BYTES = 100 * 1024
    text = csv_text(_good_rows()) + "\r\n" * 60_000

    multipart = _upload(console_api, text)
    raw = console_api.post(IMPORTS, text.encode(), content_type="text/csv")

    assert multipart.status_code == raw.status_code == 413
    assert "larger than" in multipart.json()["detail"]
    assert not ProductSettingsImport.objects.exists()


@pytest.mark.parametrize("query", ["offset=99999999999999999999", "offset=-1", "limit=%C2%B2", "limit=0",
                                   "offset=1e3"])
def test_product_settings_paging_out_of_range_is_a_400(console_api, store, query):
    response = console_api.get(f"/console/api/products/settings?{query}")

    assert response.status_code == 400
    assert "detail" in response.json()
