"""GET /metrics: the backlogs, failures and alerts an operator alerts on, in Prometheus' text format, read from
the database at scrape time; off unless METRICS_TOKEN is set, and then only for that bearer token."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bigcommerce_app.models import Alert, InboundEvent
from bigcommerce_app.services import alert_raise
from feeds.models import FeedRun
from ordergroove.models import Delivery

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def _scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _event(store, status: str, *, age: timedelta = timedelta(0), next_attempt_at=None) -> InboundEvent:
    return InboundEvent.objects.create(store=store, scope="store/order/created", resource_id="1",
                                       event_hash=f"h-{InboundEvent.objects.count()}", payload={}, status=status,
                                       received_at=timezone.now() - age, next_attempt_at=next_attempt_at)


def test_backlogs_failures_and_alerts_are_counted(client, store, metrics_on):
    _event(store, "pending", age=timedelta(minutes=7))
    _event(store, "pending")
    # Deferred for an hour (an Incomplete order's recheck): waiting, but not due, so not "behind".
    _event(store, "pending", age=timedelta(hours=2), next_attempt_at=timezone.now() + timedelta(hours=1))
    _event(store, "failed")
    _event(store, "done")
    for kind, status, key in (("purchase_post", "failed", "1"), ("purchase_post", "pending", "2"),
                              ("contact_details", "succeeded", "3")):
        Delivery.objects.create(store=store, kind=kind, key=key, status=status,
                                created_at=timezone.now() - timedelta(seconds=30))
    # A status poll scheduled for later is pending by design.
    Delivery.objects.create(store=store, kind="purchase_post_status", key="2", status="pending",
                            created_at=timezone.now() - timedelta(hours=5),
                            next_attempt_at=timezone.now() + timedelta(hours=1))
    FeedRun.objects.create(store=store, status=FeedRun.Status.FAILED)
    FeedRun.objects.create(store=store, status=FeedRun.Status.RUNNING)
    alert_raise(store, "purchase_post_rejected", "Ordergroove answered 400")

    samples = _scrape(client)
    assert samples[("middleware_inbox_events", (("status", "pending"),))] == 3
    assert samples[("middleware_inbox_events", (("status", "failed"),))] == 1
    assert samples[("middleware_inbox_events", (("status", "processing"),))] == 0
    assert 7 * 60 <= samples[("middleware_inbox_oldest_due_age_seconds", ())] < 8 * 60
    assert 30 <= samples[("middleware_delivery_oldest_due_age_seconds", ())] < 90
    assert samples[("middleware_deliveries", (("kind", "purchase_post"), ("status", "failed")))] == 1
    assert samples[("middleware_deliveries", (("kind", "purchase_post"), ("status", "pending")))] == 1
    assert samples[("middleware_deliveries", (("kind", "contact_details"), ("status", "pending")))] == 0
    assert samples[("middleware_feed_runs", (("status", "failed"),))] == 1
    assert samples[("middleware_feed_runs", (("status", "running"),))] == 1
    assert samples[("middleware_alerts_open", (("severity", "error"),))] == 1
    assert samples[("middleware_stores", (("status", "installed"),))] == 1
    assert math.isnan(samples[("middleware_worker_heartbeat_age_seconds", ())])  # no worker ran the heartbeat


def test_a_quiet_service_reports_zero_backlog(client, store, metrics_on):
    _event(store, "done")
    Alert.objects.update(resolved_at=timezone.now())
    samples = _scrape(client)
    assert samples[("middleware_inbox_oldest_due_age_seconds", ())] == 0
    assert samples[("middleware_delivery_oldest_due_age_seconds", ())] == 0
    assert sum(v for (name, _), v in samples.items() if name == "middleware_inbox_events") == 0


def test_metrics_need_the_token(client, metrics_on):
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in refused.content.decode()


def test_metrics_are_off_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 404 and b"METRICS_TOKEN" in response.content
