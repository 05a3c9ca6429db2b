"""GET /api/schema/ documents every JSON endpoint (DECISIONS §2), and the schema generates without warnings."""

import pytest
from django.core.management import call_command


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.mark.django_db
def test_schema_endpoint_lists_the_storefront_and_console_apis(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/merchant/ordergroove/signature", "/api/v1/ordergroove/customer/has_subscriptions",
                 "/console/api/settings", "/console/api/products/imports", "/console/api/feeds/runs",
                 "/console/api/activity/deliveries"):
        assert path in paths
