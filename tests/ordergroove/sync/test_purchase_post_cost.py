"""What a purchase post costs the worker, and the caches that keep it down (issue 4 end-to-end benchmark): the
settings cache per process and its invalidation, the purchase post sent on the worker that prepared it (created
already claimed), and the statement budget per order."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bigcommerce_app.inbox import tasks as inbox_tasks
from ordergroove.models import Delivery, DeliveryAttempt, OrdergrooveSettings, PurchasePost
from ordergroove.sync import selectors
from tests.fakes.ordergroove import decode_create_request
from tests.ordergroove.sync.conftest import OG_MERCHANT_ID

ORDER_CREATED = "store/order/created"


@pytest.mark.django_db
def test_settings_are_read_once_then_served_from_the_process(shop, django_assert_num_queries):
    selectors.og_settings_forget()
    first = selectors.og_settings_get(shop.store.pk)
    with django_assert_num_queries(0):
        again = selectors.og_settings_get(shop.store.pk)
    assert again is first and again.merchant_id == OG_MERCHANT_ID


@pytest.mark.django_db
def test_saving_the_settings_is_seen_at_once(shop):
    selectors.og_settings_get(shop.store.pk)
    row = OrdergrooveSettings.objects.get(store=shop.store)
    row.hash_key = "a-new-hash-key-0123456789abcdefgh"
    row.save()
    assert selectors.og_settings_get(shop.store.pk).hash_key == "a-new-hash-key-0123456789abcdefgh"
    row.delete()
    assert selectors.og_settings_get(shop.store.pk) is None


@pytest.mark.django_db
def test_a_change_from_another_process_is_seen_after_the_ttl(shop, settings):
    """Another process's save sends no signal here: the entry expires after ORDERGROOVE_SETTINGS_CACHE_SECONDS."""
    settings.ORDERGROOVE_SETTINGS_CACHE_SECONDS = 0
    selectors.og_settings_get(shop.store.pk)
    OrdergrooveSettings.objects.filter(store=shop.store).update(merchant_id="othermerchant")  # no signal
    assert selectors.og_settings_get(shop.store.pk).merchant_id == "othermerchant"


@pytest.mark.django_db
def test_unconfigured_settings_are_not_kept(shop):
    OrdergrooveSettings.objects.filter(store=shop.store).update(hash_key="")  # no signal, as from elsewhere
    selectors.og_settings_forget()
    assert not selectors.og_settings_get(shop.store.pk).is_configured
    OrdergrooveSettings.objects.filter(store=shop.store).update(hash_key="k" * 32)
    assert selectors.og_settings_get(shop.store.pk).is_configured


@pytest.mark.django_db(transaction=True)
def test_on_a_worker_the_post_is_sent_at_once_within_the_statement_budget(shop, fake_og):
    """The task path (current task, no transaction): the delivery is created claimed with its first attempt and
    posted by the same task. The budget pins the statements per order (each ORM statement costs the worker
    ~0.6 ms, bench/webhooks.py): claim, read and finish the event (3), one "posted or placed?" check, the
    product settings, the claimed delivery + purchase post + attempt (5 with BEGIN/COMMIT), the attempt's
    outcome, and the success transaction (6)."""
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value), shop.mug_line())
    event = shop.event(ORDER_CREATED, order["id"])
    selectors.og_settings_get(shop.store.pk)  # a worker that has served this store in the last seconds

    with CaptureQueriesContext(connection) as queries:
        inbox_tasks.inbound_event_process.apply((event.pk,))
    assert len(queries.captured_queries) <= 17, [q["sql"][:120] for q in queries.captured_queries]

    event.refresh_from_db()
    assert event.status == "done" and "sent" in event.result
    delivery = Delivery.objects.get(kind="purchase_post")
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    assert [(a.number, a.outcome, a.status_code) for a in DeliveryAttempt.objects.filter(delivery=delivery)] == [
        (1, "success", 201)]
    assert PurchasePost.objects.get(delivery=delivery).status_state == "waiting"
    [post] = [decode_create_request(r.body) for r in fake_og.requests_to("POST", r"^/sc/subscription/create")]
    assert post["merchant_order_id"] == str(order["id"])
