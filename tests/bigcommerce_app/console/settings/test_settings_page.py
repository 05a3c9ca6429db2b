"""The Settings tab as a plain form inside the iframe: token in the form, secrets never rendered, errors next to
their fields, nothing saved when anything is invalid."""

from __future__ import annotations

import pytest

from ordergroove.models import OrdergrooveSettings

pytestmark = pytest.mark.django_db

HASH_KEY = "Zq7!mK2#pL9$wX4^rT6&yU8*iO0(aS3)"


def _form(token: str, **fields) -> dict:
    data = {"t": token, "merchant_id": "ogmerchant1", "environment": "staging", "api_url":
            "https://staging.restapi.ordergroove.com", "legacy_api_url": "https://staging.v2.ordergroove.com",
            "subscription_api_url": "https://staging.sc.ordergroove.com/subscription/create",
            "static_domain": "https://staging.static.ordergroove.com", "subscriptions_owned_by": "bigcommerce",
            "global_offer_id": "", "free_shipping_coupon": "", "payment_data_source": "bigcommerce",
            "gateway_base_url": "", "sftp_host": "staging.feeds.ordergroove.com", "sftp_port": "22",
            "sftp_username": "", "sftp_host_key": "", "cron_minute": "0", "cron_hour": "3",
            "cron_day_of_month": "*", "cron_month": "*", "cron_day_of_week": "*"}
    data.update(fields)
    return data


def test_save_then_see_secrets_masked(client, store, console_token):
    response = client.post("/console/settings/", _form(console_token, hash_key=HASH_KEY, incentive_groups_enabled="on",
                                                       global_offer_id="offer-42"))
    assert response.status_code == 302 and response["Location"].startswith("/console/settings/?t=")
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "Settings saved" in html
    assert HASH_KEY not in html and f"set (…{HASH_KEY[-4:]})" in html
    assert "Every day, at 03:00 (US Central time)." in html and "Next run: " in html
    assert 'name="t" value="' + console_token in html  # the token travels in the form, not a cookie
    assert "Content-Security-Policy" in page.headers and "X-Frame-Options" not in page.headers
    og = OrdergrooveSettings.objects.get(store=store)
    assert og.hash_key == HASH_KEY and og.incentive_groups_enabled and og.global_offer_id == "offer-42"
    # An empty secret box keeps the secret; unticked boxes are false.
    client.post("/console/settings/", _form(console_token, global_offer_id="offer-42"))
    og.refresh_from_db()
    assert og.hash_key == HASH_KEY and not og.incentive_groups_enabled


def test_errors_are_shown_by_field_and_nothing_is_saved(client, store, console_token):
    response = client.post("/console/settings/", _form(console_token, merchant_id="new-id", hash_key="short",
                                                       cron_hour="25", api_url="http://example.com"))
    html = response.content.decode()
    assert response.status_code == 400 and "nothing was saved" in html
    assert 'data-field="hash_key">The hash key must be exactly 32 characters' in html
    assert 'data-field="cron_hour">' in html and 'data-field="api_url">' in html
    assert "short" not in html.split('id="hash_key"')[1][:200]  # the typed secret is not echoed back
    assert OrdergrooveSettings.objects.get(store=store).merchant_id == ""


def test_the_form_switches_endpoints_to_the_new_environment_presets(client, store, console_token):
    client.post("/console/settings/", _form(console_token, environment="production"))
    og = OrdergrooveSettings.objects.get(store=store)
    assert og.api_url == "https://restapi.ordergroove.com"
    assert og.subscription_api_url == "https://sc.ordergroove.com/subscription/create"
    assert store.feed_settings.__class__.objects.get(store=store).sftp_host == "feeds.ordergroove.com"


def test_without_a_token_the_page_is_refused(client, store):
    assert client.get("/console/settings/").status_code == 401
    assert client.post("/console/settings/", {"merchant_id": "x"}).status_code == 401
    assert client.get("/console/products/").status_code == 401
