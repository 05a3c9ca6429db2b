"""The Storefront tab (`/console/storefront/`): its state, the switches saved and reconciled at once, and a
field the owner refuses shown next to its input."""

from __future__ import annotations

import pytest

from bigcommerce_app.models import StorefrontPage
from ordergroove.storefront_script.services import storefront_settings_update
from tests.ordergroove.storefront_script.test_reconcile import scripts_at

pytestmark = pytest.mark.django_db


def test_the_console_switches_and_page(client, configured, fake_bc, console_token):
    storefront_settings_update(configured, {"subscription_page_enabled": True})
    page_id = next(iter(fake_bc.stores["abc123"].pages))
    page = client.get("/console/storefront/", {"t": console_token})
    assert page.status_code == 200 and b'id="storefront-state">installed' in page.content.replace(b"\n", b"")
    response = client.post("/console/storefront/", {"t": console_token, "mode": "service",
                                                    "og_auth_enabled": "on", "payment_guard_enabled": "on",
                                                    "subscription_page_enabled": "on",
                                                    "subscription_page_url": "/subscriptions/",
                                                    "subscription_page_title": "My subscriptions"})
    assert response.status_code == 302
    assert set(scripts_at(fake_bc)) == {"Ordergroove storefront"}  # checkout guards unticked
    assert [(p["id"], p["url"], p["name"]) for p in fake_bc.stores["abc123"].pages.values()] == [
        (page_id, "/subscriptions/", "My subscriptions")]  # the same page, renamed and moved
    bad = client.post("/console/storefront/", {"t": console_token, "mode": "service",
                                               "subscription_page_url": "no slash"})
    assert bad.status_code == 400 and b'data-field="subscription_page_url"' in bad.content
    assert StorefrontPage.objects.get(store=configured).url == "/subscriptions/"
