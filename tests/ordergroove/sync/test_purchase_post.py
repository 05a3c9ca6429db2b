"""Order created → purchase post (seed 001, DECISIONS §3.3/§3.6/§3.7/§3.13): what reaches the fake Ordergroove."""

from __future__ import annotations

import pytest

from bigcommerce_app.inbox.services import inbound_event_process
from bigcommerce_app.models import Alert, InboundEvent
from ordergroove import crypto
from ordergroove.constants import RECURRING_ORDER_EXTERNAL_SOURCE
from ordergroove.models import Delivery, DeliveryAttempt, PurchasePost
from ordergroove.sync import services
from tests.fakes.ordergroove import decode_create_request
from tests.ordergroove.sync.conftest import GLOBAL_OFFER, OG_HASH_KEY, OG_MERCHANT_ID

pytestmark = pytest.mark.django_db

ORDER_CREATED = "store/order/created"


def _deliver_all() -> None:
    """Run every due delivery once (what the worker does), including follow-ups they create."""
    for _ in range(10):
        ids = list(Delivery.objects.filter(status="pending").values_list("pk", flat=True))
        if not ids:
            return
        for pk in ids:
            services.delivery_attempt(pk)


def _posts(fake_og) -> list[dict]:
    return [decode_create_request(r.body) for r in fake_og.requests_to("POST", r"^/sc/subscription/create")]


def test_subscription_order_posts_the_exact_create_request(shop, fake_og):
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value, quantity=2), shop.mug_line())
    event = shop.event(ORDER_CREATED, order["id"])

    assert inbound_event_process(event.pk) == "done"
    services.delivery_attempt(Delivery.objects.get(kind="purchase_post").pk)

    [post] = _posts(fake_og)
    coffee = f"{shop.coffee['id']}_{shop.coffee['variants'][0]['id']}"
    mug = f"{shop.mug['id']}_{shop.mug['variants'][0]['id']}"
    address = {"first_name": "Jane", "last_name": "Doe", "address": "1 Sample Street", "address2": "Apt 1",
               "city": "Austin", "state_province_code": "TX", "zip_postal_code": "78701", "phone": "555-0100",
               "country_code": "US"}
    payment = post.pop("payment")
    assert post == {
        "merchant_id": OG_MERCHANT_ID,
        "og_cart_tracking": False,
        "merchant_order_id": str(order["id"]),
        "user": {"user_id": str(shop.customer["id"]), "first_name": "Jane", "last_name": "Doe",
                 "email": "jane@example.com", "phone_number": "555-0100",
                 "shipping_address": address, "billing_address": address},
        "products": [
            {"product": coffee, "sku": "COF-1",
             "purchase_info": {"quantity": "2", "price": "12.50", "discounted_price": "12.50", "total": "25.00"},
             "subscription_info": {"quantity": 2},
             "tracking_override": {"offer": GLOBAL_OFFER, "every": 1, "every_period": 3}},
            {"product": mug, "sku": "MUG-1",
             "purchase_info": {"quantity": "1", "price": "8.00", "discounted_price": "8.00", "total": "8.00"}},
        ],
    }
    assert payment["token_id"] == shop.card["token"]
    assert payment["cc_type"] == "1"
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "09/2030"
    assert crypto.aes_decrypt(payment["cc_holder"], OG_HASH_KEY) == "Jane Doe"

    pp = PurchasePost.objects.get(bc_order_id=order["id"])
    assert pp.has_subscriptions and pp.subscribed_products == [coffee]
    assert pp.subs_req_id and pp.status_state == "waiting"
    assert pp.delivery.status == "succeeded" and pp.delivery.attempts == 1
    attempt = DeliveryAttempt.objects.get(delivery=pp.delivery)
    assert attempt.status_code == 201 and attempt.outcome == "success" and attempt.duration_ms is not None
    # The stored summary masks the instrument token.
    assert shop.card["token"] not in str(attempt.request_summary)


def test_request_is_encrypted_at_rest(shop, fake_og):
    from django.db import connection

    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT request FROM ordergroove_delivery")
        raw = cursor.fetchone()[0]
    assert shop.card["token"] not in raw and "2030" not in raw


def test_order_without_subscriptions_posts_without_payment(shop, fake_og):
    order = shop.order(shop.coffee_line(option_value=shop.one_time_value), shop.mug_line())
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    _deliver_all()

    [post] = _posts(fake_og)
    assert "payment" not in post
    assert all("tracking_override" not in p and "subscription_info" not in p for p in post["products"])
    assert not PurchasePost.objects.get().has_subscriptions
    # No stored instrument was looked up for a one-time order.
    assert not shop.fake_bc.requests_to("GET", r"/stored-instruments$")


def test_purchase_post_status_is_fetched_and_recorded(shop, fake_og, settings):
    settings.ORDERGROOVE_STATUS_POLL_DELAYS = (0, 0, 0)
    fake_og.status_pending_polls = 1
    order = shop.order(shop.coffee_line(option_value=shop.biweekly_value))
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    _deliver_all()

    pp = PurchasePost.objects.get()
    assert pp.status_state == "received"
    assert pp.result_customer == str(shop.customer["id"]) and pp.result_payment
    assert len(pp.result_subscriptions) == 1 and pp.result_errors == {}
    status = Delivery.objects.get(kind="purchase_post_status")
    assert status.status == "succeeded"
    assert [a.status_code for a in status.attempt_rows.all()] == [202, 200]
    assert len(fake_og.requests_to("GET", r"^/sc/subscription/.+/response$")) == 2


def test_recurring_orders_placed_by_this_service_are_skipped(shop, fake_og):
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value),
                       external_source=RECURRING_ORDER_EXTERNAL_SOURCE, status_id=11)
    event = shop.event(ORDER_CREATED, order["id"])
    assert inbound_event_process(event.pk) == "skipped"
    event.refresh_from_db()
    assert "recurring" in event.result
    assert not Delivery.objects.exists() and not _posts(fake_og)


@pytest.mark.parametrize("status_id,outcome", [(0, "pending"), (5, "skipped"), (6, "skipped")])
def test_incomplete_cancelled_and_declined_orders_are_not_posted(shop, fake_og, status_id, outcome):
    order = shop.order(shop.mug_line(), status_id=status_id)
    event = shop.event(ORDER_CREATED, order["id"])
    assert inbound_event_process(event.pk) == outcome
    assert not Delivery.objects.exists()


def test_an_order_is_posted_once_whatever_the_events(shop, fake_og):
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    events = [shop.event(ORDER_CREATED, order["id"], event_hash=f"h{i}") for i in range(3)]
    results = [inbound_event_process(e.pk) for e in events]
    _deliver_all()
    assert results == ["done", "skipped", "skipped"]
    assert len(_posts(fake_og)) == 1
    assert PurchasePost.objects.count() == 1


def test_500_twice_then_201_is_one_post_and_three_attempts(shop, fake_og, settings):
    settings.ORDERGROOVE_RETRY_DELAYS = (0, 0, 0)
    fake_og.fail("POST", r"^/sc/subscription/create", status=500, count=2)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    delivery = Delivery.objects.get(kind="purchase_post")
    for _ in range(3):
        services.delivery_attempt(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert [(a.status_code, a.outcome) for a in delivery.attempt_rows.all()] == [
        (500, "retry"), (500, "retry"), (201, "success")]
    assert len(fake_og.merchants[OG_MERCHANT_ID].purchase_posts) == 1


def test_retry_schedule_three_tries_in_ten_minutes_then_24h_then_failed(shop, fake_og, settings):
    from datetime import timedelta

    from django.utils import timezone

    fake_og.fail("POST", r"^/sc/subscription/create", status=503, count=10)
    order = shop.order(shop.mug_line())
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    delivery = Delivery.objects.get(kind="purchase_post")
    waits = []
    for _ in range(5):
        before = timezone.now()
        services.delivery_attempt(delivery.pk)
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append(round((delivery.next_attempt_at - before).total_seconds()))
            Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert waits == [60, 240, 86400]
    assert delivery.status == "failed" and delivery.attempts == 4
    assert not Alert.objects.filter(kind="ordergroove_delivery").exists()  # 5xx: failed, no 4xx alert


def test_409_on_a_resend_counts_as_delivered(shop, fake_og):
    order = shop.order(shop.mug_line())
    fake_og.merchants[OG_MERCHANT_ID].purchase_posts[str(order["id"])] = {"merchant_order_id": str(order["id"])}
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    _deliver_all()
    delivery = Delivery.objects.get(kind="purchase_post")
    assert delivery.status == "duplicate" and delivery.attempt_rows.get().status_code == 409
    assert PurchasePost.objects.get().status_state == "earlier"


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refusals_fail_at_once_and_raise_an_alert(shop, fake_og, status):
    fake_og.fail("POST", r"^/sc/subscription/create", status=status, count=1,
                 body={"error_message": "Missing payment data to create record"})
    order = shop.order(shop.mug_line())
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    _deliver_all()
    delivery = Delivery.objects.get(kind="purchase_post")
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "Missing payment data" in delivery.last_error
    alert = Alert.objects.get(kind="ordergroove_delivery", resolved_at__isnull=True)
    assert str(order["id"]) in alert.message and f"HTTP {status}" in alert.message


def test_207_is_done_and_alerts(shop, fake_og):
    fake_og.fail("POST", r"^/sc/subscription/create", status=207, count=1,
                 body={"customer": "c1", "errors": {"products": ["sku is a required"]}})
    order = shop.order(shop.mug_line())
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    _deliver_all()
    assert Delivery.objects.get(kind="purchase_post").status == "partial"
    assert Alert.objects.filter(kind="ordergroove_delivery").count() == 1


def test_replay_sends_a_failed_delivery_again(shop, fake_og, django_capture_on_commit_callbacks):
    fake_og.fail("POST", r"^/sc/subscription/create", status=401, count=1)
    order = shop.order(shop.mug_line())
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    _deliver_all()
    delivery = Delivery.objects.get(kind="purchase_post")
    assert delivery.status == "failed"
    with django_capture_on_commit_callbacks(execute=False):
        services.delivery_replay(delivery)
    services.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2
    assert not Alert.objects.filter(kind="ordergroove_delivery", resolved_at__isnull=True).exists()


def test_guest_orders_are_skipped(shop, fake_og):
    order = shop.order(shop.mug_line(), customer_id=0)
    event = shop.event(ORDER_CREATED, order["id"])
    assert inbound_event_process(event.pk) == "skipped"
    assert "guest" in InboundEvent.objects.get(pk=event.pk).result


def test_non_ascii_is_transliterated_and_recorded(shop, fake_og):
    shop.fake_bc.stores[shop.hash].customers[shop.customer["id"]]["first_name"] = "Zoë"
    order = shop.order(shop.mug_line())
    inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk)
    _deliver_all()
    [post] = _posts(fake_og)
    assert post["user"]["first_name"] == "Zoe"
    delivery = Delivery.objects.get(kind="purchase_post")
    assert delivery.status == "succeeded"
    assert any("user.first_name" in note for note in delivery.notes)
