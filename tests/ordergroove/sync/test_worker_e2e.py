"""End to end with real Celery workers, PostgreSQL and Redis (issue 4 "what it must show"): webhooks over HTTP
into the inbox, the project's Celery app and tasks, the fake BigCommerce and the fake Ordergroove over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from bigcommerce_app.inbox import services as inbox
from bigcommerce_app.models import InboundEvent
from ordergroove import crypto
from ordergroove.models import Delivery, PurchasePost
from ordergroove.sync import services
from tests.fakes.ordergroove import decode_create_request
from tests.ordergroove.sync.conftest import GLOBAL_OFFER, OG_HASH_KEY, OG_MERCHANT_ID

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
ORDER_CREATED = "store/order/created"


def wait_for(condition: Callable[[], bool], *, deadline: float = 30, tick: Callable[[], None] | None = None,
             what: str = "condition") -> None:
    """Poll until `condition()` (a deadline, not a timing assertion). `tick` runs each round, e.g. the periodic
    task that beat would run."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if tick:
            tick()
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def celery_app():
    from celery.contrib.testing import tasks  # noqa: F401 - registers the ping task start_worker checks

    import bigcommerce_app.tasks  # noqa: F401 - the project's tasks, as the worker's autodiscovery finds them
    import ordergroove.tasks  # noqa: F401
    from middleware.celery import app

    app.control.purge()
    return app


@contextmanager
def worker(app, concurrency: int = 4):
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="threads", concurrency=concurrency, perform_ping_check=False,
                      shutdown_timeout=20):
        yield


@pytest.fixture
def hooks_to(live_server, fake_bc, shop):
    """Point the store's hooks registered in the fake BigCommerce at the live server's inbox."""
    for hook in fake_bc.stores[shop.hash].hooks.values():
        hook["destination"] = live_server.url + "/webhooks/bigcommerce"
    return live_server


def _posts(fake_og) -> list[dict]:
    return [decode_create_request(r.body) for r in fake_og.requests_to("POST", r"^/sc/subscription/create")]


def test_subscription_and_one_time_orders_end_to_end(celery_app, shop, fake_bc, fake_og, hooks_to):
    with_sub = shop.order(shop.coffee_line(option_value=shop.monthly_value, quantity=2), shop.mug_line())
    one_time = shop.order(shop.mug_line(quantity=3))
    with worker(celery_app):
        for order in (with_sub, one_time):
            answers = fake_bc.emit(shop.hash, ORDER_CREATED, {"type": "order", "id": order["id"]})
            assert [(a.status_code, a.content) for a in answers] == [(200, b"")]
        wait_for(lambda: Delivery.objects.filter(kind="purchase_post", status="succeeded").count() == 2,
                 what="two purchase posts delivered")

    posts = {p["merchant_order_id"]: p for p in _posts(fake_og)}
    assert set(posts) == {str(with_sub["id"]), str(one_time["id"])}
    post = posts[str(with_sub["id"])]
    coffee = f"{shop.coffee['id']}_{shop.coffee['variants'][0]['id']}"
    assert post["merchant_id"] == OG_MERCHANT_ID
    assert post["user"]["user_id"] == str(shop.customer["id"]) and post["user"]["email"] == "jane@example.com"
    assert post["user"]["shipping_address"]["address"] == "1 Sample Street"
    assert post["user"]["shipping_address"]["state_province_code"] == "TX"
    assert post["payment"]["token_id"] == shop.card["token"]
    assert crypto.aes_decrypt(post["payment"]["cc_exp_date"], OG_HASH_KEY) == "09/2030"
    lines = {p["product"]: p for p in post["products"]}
    assert lines[coffee]["tracking_override"] == {"offer": GLOBAL_OFFER, "every": 1, "every_period": 3}
    assert [p for p in post["products"] if "tracking_override" in p] == [lines[coffee]]
    assert "payment" not in posts[str(one_time["id"])]
    assert all(e.status == "done" for e in InboundEvent.objects.all())


def test_the_same_webhook_ten_times_some_concurrently_is_one_purchase_post(celery_app, shop, fake_bc, fake_og,
                                                                           hooks_to):
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    payload = fake_bc.webhook_payload(shop.hash, ORDER_CREATED, {"type": "order", "id": order["id"]})
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Webhook-Token": shop.store.webhook_token}
    url = hooks_to.url + "/webhooks/bigcommerce"
    statuses: list[int] = []

    def deliver():
        statuses.append(requests.post(url, data=body, headers=headers, timeout=10).status_code)

    with worker(celery_app):
        threads = [threading.Thread(target=deliver) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for _ in range(4):
            deliver()
        wait_for(lambda: Delivery.objects.filter(kind="purchase_post", status="succeeded").exists(),
                 what="the purchase post")
        # The delivery succeeds inside the event's processing: the console offers replay once the event is done.
        wait_for(lambda: InboundEvent.objects.get().status == "done", what="the event done")
        # Replays of the event (as the console allows) still cannot post the order again.
        inbox.inbound_event_replay(InboundEvent.objects.get())
        wait_for(lambda: InboundEvent.objects.get().status == "skipped", what="the replayed event")

    assert statuses == [200] * 10
    assert InboundEvent.objects.count() == 1
    assert len(_posts(fake_og)) == 1 and PurchasePost.objects.count() == 1


def test_500_twice_then_201_gives_one_post_and_three_attempts(celery_app, shop, fake_bc, fake_og, hooks_to,
                                                              settings):
    settings.ORDERGROOVE_RETRY_DELAYS = (0, 0, 0)
    fake_og.fail("POST", r"^/sc/subscription/create", status=500, count=2)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    with worker(celery_app):
        fake_bc.emit(shop.hash, ORDER_CREATED, {"type": "order", "id": order["id"]})
        # The retries are due at once here; beat's periodic task is what enqueues due deliveries.
        wait_for(lambda: Delivery.objects.filter(kind="purchase_post", status="succeeded").exists(),
                 tick=services.deliveries_due_enqueue, what="the purchase post after two 500s")
    delivery = Delivery.objects.get(kind="purchase_post")
    assert delivery.attempts == 3
    assert [a.status_code for a in delivery.attempt_rows.all()] == [500, 500, 201]
    assert len(fake_og.merchants[OG_MERCHANT_ID].purchase_posts) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kill_worker_during_the_post(fake_og, start: Callable[[], object], env: dict[str, str] | None = None) -> None:
    """Run a real worker process, `start()` the work, and kill it (-9) once its purchase post reached the fake
    Ordergroove (make Ordergroove slow first, so the worker is still waiting for the answer)."""
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "middleware.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": django_settings.CELERY_BROKER_URL, "ORDERGROOVE_TIMEOUT": "10", **(env or {})}
    celery_bin = shutil.which("celery", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen([celery_bin, "-A", "middleware", "worker", "-P", "prefork", "-c", "1",
                             "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "warning"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start()
        wait_for(lambda: fake_og.requests_to("POST", r"^/sc/subscription/create"), deadline=60,
                 what="the worker's purchase post to reach Ordergroove")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_worker_killed_during_the_post_completes_it_once(celery_app, shop, fake_og, settings):
    """A real worker process is killed (-9) while Ordergroove takes its time to answer. Ordergroove did receive
    the post; after the claim's lease the delivery is sent again, Ordergroove answers 409, and the order counts
    as posted once."""
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    assert inbox.inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk) == "done"
    delivery = Delivery.objects.get(kind="purchase_post")
    fake_og.fail("POST", r"^/sc/subscription/create", status=0, delay=3, count=1)  # slow, then a normal 201

    kill_worker_during_the_post(fake_og, lambda: services.delivery_enqueue(delivery.pk))
    wait_for(lambda: str(order["id"]) in fake_og.merchants[OG_MERCHANT_ID].purchase_posts,
             what="Ordergroove to finish receiving the first post")
    delivery.refresh_from_db()
    assert delivery.status == "sending"  # the dead worker never recorded the answer
    resent_after_the_lease_once(celery_app, fake_og, delivery, order)


def resent_after_the_lease_once(celery_app, fake_og, delivery: Delivery, order: dict) -> None:
    """After a worker died mid-post: once the claim's lease is over, the due-deliveries task sends it again,
    Ordergroove answers 409 and the order counts as posted once."""
    # Time passes beyond the claim's lease (60 s in production): expire it instead of waiting.
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    with worker(celery_app):
        wait_for(lambda: Delivery.objects.get(pk=delivery.pk).is_final, tick=services.deliveries_due_enqueue,
                 what="the delivery to complete after the crash")

    delivery.refresh_from_db()
    assert delivery.status == "duplicate"
    assert [(a.outcome, a.status_code) for a in delivery.attempt_rows.all()] == [("lost", None), ("duplicate", 409)]
    assert len(fake_og.requests_to("POST", r"^/sc/subscription/create")) == 2
    assert list(fake_og.merchants[OG_MERCHANT_ID].purchase_posts) == [str(order["id"])]


def test_a_worker_killed_during_its_inline_post_completes_it_once(celery_app, shop, fake_bc, fake_og):
    """The worker that prepared the purchase post (delivery created claimed, attempt 1 open) is killed (-9)
    while Ordergroove takes its time to answer. After the claim's lease the due-deliveries task sends it again,
    Ordergroove answers 409, and the order counts as posted once."""
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    event = shop.event(ORDER_CREATED, order["id"])
    fake_og.fail("POST", r"^/sc/subscription/create", status=0, delay=3, count=1)  # slow, then a normal 201

    kill_worker_during_the_post(fake_og, lambda: inbox.inbound_event_enqueue(event.pk),
                                env={"BIGCOMMERCE_API_URL": fake_bc.url})
    wait_for(lambda: str(order["id"]) in fake_og.merchants[OG_MERCHANT_ID].purchase_posts,
             what="Ordergroove to finish receiving the first post")
    delivery = Delivery.objects.get(kind="purchase_post")
    assert (delivery.status, delivery.attempts) == ("sending", 1)  # claimed at creation, answer never recorded
    resent_after_the_lease_once(celery_app, fake_og, delivery, order)


@contextmanager
def own_redis(port: int):
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _redis_up(port), deadline=10, what="redis-server to start")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _redis_up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_redis_stopped_during_intake_then_processed_when_it_returns(celery_app, shop, fake_bc, fake_og, hooks_to):
    """The shared Redis is left alone: this test runs its own redis-server as the broker, stops it, posts
    webhooks, starts it again and lets the sweeper hand the stored events to a worker."""
    port = _free_port()
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    celery_app._after_fork()  # drop pooled connections to the old broker
    orders = [shop.order(shop.mug_line()) for _ in range(3)]
    try:
        with own_redis(port):
            pass  # started and stopped: the broker is down from here on
        for order in orders:
            answers = fake_bc.emit(shop.hash, ORDER_CREATED, {"type": "order", "id": order["id"]})
            assert [a.status_code for a in answers] == [200]
        assert InboundEvent.objects.filter(status="pending").count() == 3
        assert not _posts(fake_og)
        with own_redis(port):
            celery_app._after_fork()
            with worker(celery_app):
                wait_for(lambda: Delivery.objects.filter(kind="purchase_post", status="succeeded").count() == 3,
                         tick=lambda: (inbox.inbound_events_sweep(), services.deliveries_due_enqueue()),
                         what="the stored events to be processed")
    finally:
        celery_app.conf.broker_url = previous
        celery_app._after_fork()
    assert sorted(p["merchant_order_id"] for p in _posts(fake_og)) == sorted(str(o["id"]) for o in orders)
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {"done"}
