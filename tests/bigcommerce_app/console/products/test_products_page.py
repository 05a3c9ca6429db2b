"""The Import/Export tab's page (`/console/products/`): what it shows of an import being checked and of one
whose check was lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feeds.models import ProductSettingsImport
from tests.feeds.products.test_import import _good_rows
from tests.feeds.products.test_import_large import _queue, one_product_inline  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db


def test_the_console_shows_a_checking_import_and_a_lost_one(client, console_api, catalog,
                                                           django_capture_on_commit_callbacks):
    queued = _queue(console_api, _good_rows(), django_capture_on_commit_callbacks)
    page = client.get("/console/products/", {"t": console_api.token, "import": queued["id"]}).content.decode()
    assert f"Import #{queued['id']} is being checked" in page and 'data-stalled="0"' in page

    # Its task was lost (the broker refused it, the worker died for good): after 45 minutes the console says so.
    ProductSettingsImport.objects.filter(pk=queued["id"]).update(created_at=timezone.now() - timedelta(minutes=46))
    page = client.get("/console/products/", {"t": console_api.token, "import": queued["id"]}).content.decode()
    assert f"Import #{queued['id']} stopped — nothing was applied" in page
    assert ">Stalled</span>" in page  # and so does the history
    assert console_api.get(f"/console/api/products/imports/{queued['id']}").json()["stalled"] is True
