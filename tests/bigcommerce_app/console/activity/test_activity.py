"""The console activity view (issue 4): events and deliveries per store, filters, counts per day, replay."""

from __future__ import annotations

import pytest

from bigcommerce_app.inbox.services import inbound_event_process
from bigcommerce_app.models import InboundEvent
from ordergroove.models import Delivery
from ordergroove.sync import services
from tests.ordergroove.sync.conftest import Shop

pytestmark = pytest.mark.django_db

ORDER_CREATED = "store/order/created"


@pytest.fixture
def activity(fake_bc, store, og_settings, fake_og):
    """One order posted fine, one refused by Ordergroove (400), one webhook skipped."""
    shop = Shop(fake_bc, store)
    ok_order = shop.order(shop.mug_line())
    bad_order = shop.order(shop.mug_line())
    inbound_event_process(shop.event(ORDER_CREATED, ok_order["id"]).pk)
    services.delivery_attempt(Delivery.objects.get(merchant_order_id=str(ok_order["id"])).pk)
    fake_og.fail("POST", r"^/sc/subscription/create", status=400, count=1,
                 body={"error_message": "Merchant order id cannot be null"})
    inbound_event_process(shop.event(ORDER_CREATED, bad_order["id"]).pk)
    services.delivery_attempt(Delivery.objects.get(merchant_order_id=str(bad_order["id"])).pk)
    inbound_event_process(shop.event("store/test/unknown", 1).pk)
    return shop, ok_order, bad_order


def _api(client, path, token, method="get", **kwargs):
    return getattr(client, method)(path, HTTP_X_CONSOLE_TOKEN=token, **kwargs)


def test_page_shows_deliveries_events_chart_and_failure_reason(client, console_token, activity):
    _shop, ok_order, bad_order = activity
    response = client.get("/console/activity/", {"t": console_token})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="active"' in html and "<svg" in html and "data-chart" in html
    assert f"order #{ok_order['id']}" in html and f"order #{bad_order['id']}" in html
    assert "Merchant order id cannot be null" in html
    failed = Delivery.objects.get(status="failed")
    assert f'data-replay-delivery="{failed.pk}"' in html
    assert html.count("data-replay-delivery=") == 1  # only the failed one can be replayed
    assert "cdn" not in html.lower() and "<script src=" not in html


def test_page_filters(client, console_token, activity):
    _shop, ok_order, bad_order = activity
    html = client.get("/console/activity/", {"t": console_token, "status": "failed"}).content.decode()
    assert f"order #{bad_order['id']}" in html and f"order #{ok_order['id']}" not in html
    html = client.get("/console/activity/", {"t": console_token, "q": str(ok_order["id"])}).content.decode()
    assert f"order #{ok_order['id']}" in html and f"order #{bad_order['id']}" not in html
    response = client.get("/console/activity/", {"t": console_token, "status": "nonsense"})
    assert response.status_code == 400 and "status must be one of" in response.content.decode()


def test_page_needs_a_console_token(client, activity):
    assert client.get("/console/activity/").status_code == 401
    assert client.get("/console/api/activity/deliveries").status_code == 401


def test_replay_button_sends_the_failed_delivery_again(client, console_token, activity, fake_og,
                                                       django_capture_on_commit_callbacks):
    failed = Delivery.objects.get(status="failed")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/console/activity/deliveries/{failed.pk}/replay", {"t": console_token})
    assert response.status_code == 302 and "will+be+sent+again" in response["Location"]
    services.delivery_attempt(failed.pk)
    failed.refresh_from_db()
    assert failed.status == "succeeded" and failed.attempts == 2


def test_json_api_lists_filters_details_and_replays(client, console_token, activity,
                                                    django_capture_on_commit_callbacks):
    _shop, ok_order, bad_order = activity
    rows = _api(client, "/console/api/activity/deliveries", console_token, data={"kind": "purchase_post"}).json()
    assert {r["merchant_order_id"] for r in rows} == {str(ok_order["id"]), str(bad_order["id"])}
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["can_replay"] and failed["last_status_code"] == 400

    detail = _api(client, f"/console/api/activity/deliveries/{failed['id']}", console_token).json()
    [attempt] = detail["attempt_rows"]
    assert attempt["status_code"] == 400 and "Merchant order id" in attempt["response_excerpt"]
    assert "***" in attempt["request_summary"]["headers"]["authorization"]  # the signature is masked

    events = _api(client, "/console/api/activity/events", console_token, data={"status": "skipped"}).json()
    assert [e["scope"] for e in events] == ["store/test/unknown"]
    days = _api(client, "/console/api/activity/summary", console_token, data={"days": 7}).json()["days"]
    assert len(days) == 7 and days[-1]["events"] == 3 and days[-1]["failed"] == 1 and days[-1]["succeeded"] >= 1

    with django_capture_on_commit_callbacks(execute=False):
        replayed = _api(client, f"/console/api/activity/deliveries/{failed['id']}/replay", console_token, "post")
    assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
    again = _api(client, f"/console/api/activity/deliveries/{failed['id']}/replay", console_token, "post")
    assert again.status_code == 409

    event = InboundEvent.objects.get(scope="store/test/unknown")
    with django_capture_on_commit_callbacks(execute=False):
        response = _api(client, f"/console/api/activity/events/{event.pk}/replay", console_token, "post")
    assert response.status_code == 202 and response.json()["status"] == "pending"

    assert _api(client, "/console/api/activity/deliveries", console_token, data={"days": "x"}).status_code == 400
    assert _api(client, "/console/api/activity/deliveries/999999", console_token).status_code == 404


def test_another_stores_rows_are_invisible(client, install_store, activity):
    from bigcommerce_app.console.auth import console_token_issue

    other = install_store("zzz999")
    token = console_token_issue(other.users.order_by("pk").first())
    assert _api(client, "/console/api/activity/deliveries", token).json() == []
    delivery = Delivery.objects.first()
    assert _api(client, f"/console/api/activity/deliveries/{delivery.pk}", token).status_code == 404
    assert _api(client, f"/console/api/activity/deliveries/{delivery.pk}/replay", token, "post").status_code == 404


def test_delivery_page_shows_attempts_and_reason(client, console_token, activity):
    failed = Delivery.objects.get(status="failed")
    html = client.get(f"/console/activity/deliveries/{failed.pk}/", {"t": console_token}).content.decode()
    assert "data-reason" in html and "Merchant order id cannot be null" in html
    assert 'data-attempt="1"' in html
