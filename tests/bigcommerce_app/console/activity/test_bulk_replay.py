"""Replaying every failed Ordergroove call or webhook of a store at once (after an outage or a corrected setting),
from the console page or its JSON API: each is replayed exactly as its own Replay button would, oldest first, at
most CONSOLE_BULK_REPLAY_LIMIT per request, and another store's failures are never touched."""

from __future__ import annotations

import pytest

from bigcommerce_app.inbox.services import inbound_event_process
from bigcommerce_app.models import Alert, InboundEvent
from ordergroove.models import Delivery
from ordergroove.sync import services
from tests.ordergroove.sync.conftest import Shop

pytestmark = pytest.mark.django_db

ORDER_CREATED = "store/order/created"


@pytest.fixture
def outage(fake_bc, store, og_settings, fake_og):
    """Ordergroove refused three purchase posts (400); one went through; BigCommerce lost one order (a webhook
    that failed)."""
    shop = Shop(fake_bc, store)
    fake_og.fail("POST", r"^/sc/subscription/create", status=400, count=3,
                 body={"error_message": "Merchant is not active"})
    orders = [shop.order(shop.mug_line()) for _ in range(4)]
    for order in orders:
        inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
        services.delivery_attempt(Delivery.objects.get(merchant_order_id=str(order["id"])).pk)
    event = shop.event(ORDER_CREATED, orders[0]["id"])
    InboundEvent.objects.filter(pk=event.pk).update(status=InboundEvent.Status.FAILED, result="BigCommerce 500")
    return shop


def test_the_api_replays_every_failed_call_and_they_then_go_through(client, console_api, outage, fake_og,
                                                                   django_capture_on_commit_callbacks):
    failed = list(Delivery.objects.filter(status="failed").order_by("pk"))
    assert len(failed) == 3 and Alert.objects.filter(resolved_at__isnull=True).exists()
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = console_api.post("/console/api/activity/deliveries/replay-failed")
    assert response.status_code == 202 and response.json() == {"replayed": 3, "still_failed": 0}
    assert len(enqueued) == 3  # each one is sent again after commit
    assert set(Delivery.objects.filter(pk__in=[d.pk for d in failed]).values_list("status", flat=True)) == {"pending"}
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()  # the refusals' alerts are resolved
    for delivery in failed:
        services.delivery_attempt(delivery.pk)
    assert set(Delivery.objects.filter(kind="purchase_post").values_list("status", flat=True)) == {"succeeded"}
    assert len(fake_og.requests_to("POST", r"^/sc/subscription/create")) == 4 + 3  # four first tries, three replays


def test_at_most_the_limit_per_request_and_the_rest_is_reported(console_api, outage, settings,
                                                                django_capture_on_commit_callbacks):
    settings.CONSOLE_BULK_REPLAY_LIMIT = 2
    with django_capture_on_commit_callbacks(execute=False):
        first = console_api.post("/console/api/activity/deliveries/replay-failed").json()
        second = console_api.post("/console/api/activity/deliveries/replay-failed").json()
    assert first == {"replayed": 2, "still_failed": 1} and second == {"replayed": 1, "still_failed": 0}
    oldest_first = list(Delivery.objects.filter(kind="purchase_post").exclude(status="succeeded")
                        .order_by("pk").values_list("status", flat=True))
    assert oldest_first == ["pending", "pending", "pending"]


def test_a_kind_filter_and_a_bad_kind(console_api, outage, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        other_kind = console_api.post("/console/api/activity/deliveries/replay-failed?kind=contact_details")
    assert other_kind.json() == {"replayed": 0, "still_failed": 0}
    assert Delivery.objects.filter(status="failed").count() == 3
    bad = console_api.post("/console/api/activity/deliveries/replay-failed?kind=nonsense")
    assert bad.status_code == 400 and "kind must be one of" in bad.json()["detail"]
    assert Delivery.objects.filter(status="failed").count() == 3


def test_the_console_buttons_replay_failed_calls_and_webhooks(client, console_token, outage,
                                                             django_capture_on_commit_callbacks):
    page = client.get("/console/activity/", {"t": console_token}).content.decode()
    assert "Replay all 3 failed" in page and 'data-replay-failed="events"' in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/console/activity/deliveries/replay-failed", {"t": console_token, "kind": ""})
        assert response.status_code == 302 and "3+failed+Ordergroove+calls+will+be+sent+again" in response["Location"]
        response = client.post("/console/activity/events/replay-failed", {"t": console_token})
    assert response.status_code == 302 and "1+failed+webhooks+will+be+processed+again" in response["Location"]
    assert not Delivery.objects.filter(status="failed").exists()
    assert not InboundEvent.objects.filter(status="failed").exists()
    page = client.get("/console/activity/", {"t": console_token}).content.decode()
    assert "data-replay-failed" not in page  # nothing left to replay


def test_another_stores_failures_are_not_touched(client, install_store, outage, django_capture_on_commit_callbacks):
    from bigcommerce_app.console.auth import console_token_issue

    other = install_store("xyz789")
    headers = {"X-Console-Token": console_token_issue(other.users.first())}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/console/api/activity/deliveries/replay-failed", headers=headers)
        events = client.post("/console/api/activity/events/replay-failed", headers=headers)
    assert response.json() == {"replayed": 0, "still_failed": 0} and events.json()["replayed"] == 0
    assert Delivery.objects.filter(status="failed").count() == 3
    assert InboundEvent.objects.filter(status="failed").count() == 1


def test_a_second_replay_from_a_stale_read_leaves_a_running_event_alone(outage, django_capture_on_commit_callbacks):
    """Two replays of the same failed webhook (a double click, two operators): the second, working from what it
    read before the first, must not reset the lease of the worker now processing it."""
    from datetime import timedelta

    from django.utils import timezone

    from bigcommerce_app.inbox.services import inbound_event_replay

    stale = InboundEvent.objects.get(status="failed")
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        inbound_event_replay(InboundEvent.objects.get(pk=stale.pk))
        lease = timezone.now() + timedelta(minutes=3)
        InboundEvent.objects.filter(pk=stale.pk).update(status="processing", lease_until=lease)  # a worker claims it
        inbound_event_replay(stale)
    running = InboundEvent.objects.get(pk=stale.pk)
    assert (running.status, running.lease_until) == ("processing", lease) and len(enqueued) == 1


def test_a_second_replay_of_a_delivery_from_a_stale_read_sends_nothing_more(outage,
                                                                            django_capture_on_commit_callbacks):
    stale = Delivery.objects.filter(status="failed").first()
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        services.delivery_replay(Delivery.objects.get(pk=stale.pk))
        with pytest.raises(ValueError, match="replayed already"):
            services.delivery_replay(stale)
    assert len(enqueued) == 1
