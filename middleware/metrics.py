"""`GET /metrics`: what an operator alerts on, in Prometheus' text format (prometheus_client).

Every figure is read from the database (and the worker heartbeat from the cache) at scrape time, so it is the
same whichever web process answers: backlogs (webhooks and Ordergroove calls waiting, and how long the
longest-waiting one has been due), failures waiting for a replay, feed runs, open alerts and stores by status.
Only non-final states are counted, through the (status, next_attempt_at) indexes, so a scrape stays cheap however
many handled rows are kept.

Off unless METRICS_TOKEN is set; then the scraper sends `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import math
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bigcommerce_app.models import Alert, InboundEvent, Store
from feeds.models import FeedRun
from middleware.tasks import HEARTBEAT_KEY
from ordergroove.models import Delivery

FAILED_RUNS_WINDOW = timedelta(hours=24)


def _age(oldest, now) -> float:
    return (now - oldest).total_seconds() if oldest is not None else 0.0


def _oldest_due(model, pending: str, created: str, now):
    """When the longest-waiting pending row became due: its next_attempt_at, or its creation when it has none.
    Rows scheduled for later (a retry's backoff, a status poll, an Incomplete order's recheck) are not due yet:
    counting them would make a healthy service look hours behind."""
    due = Coalesce("next_attempt_at", created)
    return (model.objects.filter(status=pending).annotate(due=due).filter(due__lte=now)
            .aggregate(t=Min("due"))["t"])


class MiddlewareCollector(Collector):
    def collect(self):
        now = timezone.now()

        events = GaugeMetricFamily("middleware_inbox_events", "BigCommerce webhooks not handled yet, by status",
                                   labels=["status"])
        # A positive status list (an index range scan); an exclude() of the handled ones would read the table.
        unhandled = (InboundEvent.Status.PENDING, InboundEvent.Status.PROCESSING, InboundEvent.Status.FAILED)
        waiting = dict(InboundEvent.objects.filter(status__in=unhandled)
                       .values_list("status").annotate(n=Count("id")).order_by())
        for status in unhandled:
            events.add_metric([status.value], waiting.get(status.value, 0))
        yield events
        yield GaugeMetricFamily("middleware_inbox_oldest_due_age_seconds",
                                "How long the longest-waiting webhook has been due for processing (0: none)",
                                value=_age(_oldest_due(InboundEvent, InboundEvent.Status.PENDING, "received_at", now),
                                           now))

        deliveries = GaugeMetricFamily("middleware_deliveries", "Ordergroove calls not delivered, by kind and status",
                                       labels=["kind", "status"])
        open_statuses = (Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.FAILED)
        counts = {(kind, status): n for kind, status, n in Delivery.objects.filter(status__in=open_statuses)
                  .values_list("kind", "status").annotate(n=Count("id")).order_by()}
        for kind in Delivery.Kind:
            for status in open_statuses:
                deliveries.add_metric([kind.value, status.value], counts.get((kind.value, status.value), 0))
        yield deliveries
        yield GaugeMetricFamily("middleware_delivery_oldest_due_age_seconds",
                                "How long the longest-waiting Ordergroove call has been due (0: none)",
                                value=_age(_oldest_due(Delivery, Delivery.Status.PENDING, "created_at", now), now))

        runs = GaugeMetricFamily("middleware_feed_runs", "Product feed runs queued or running, and failed in the "
                                 "last 24 hours", labels=["status"])
        active = dict(FeedRun.objects.filter(status__in=[FeedRun.Status.QUEUED, FeedRun.Status.RUNNING])
                      .values_list("status").annotate(n=Count("id")).order_by())
        for status in (FeedRun.Status.QUEUED, FeedRun.Status.RUNNING):
            runs.add_metric([status.value], active.get(status.value, 0))
        runs.add_metric([FeedRun.Status.FAILED.value], FeedRun.objects.filter(
            status=FeedRun.Status.FAILED, created_at__gte=now - FAILED_RUNS_WINDOW).count())
        yield runs

        alerts = GaugeMetricFamily("middleware_alerts_open", "Open alerts (console banners), by severity",
                                   labels=["severity"])
        by_severity = dict(Alert.objects.filter(resolved_at__isnull=True).values_list("severity")
                           .annotate(n=Count("id")).order_by())
        for severity in Alert.Severity:
            alerts.add_metric([severity.value], by_severity.get(severity.value, 0))
        yield alerts

        stores = GaugeMetricFamily("middleware_stores", "Stores by app status", labels=["status"])
        by_status = dict(Store.objects.values_list("status").annotate(n=Count("id")).order_by())
        for status in Store.Status:
            stores.add_metric([status.value], by_status.get(status.value, 0))
        yield stores

        yield GaugeMetricFamily("middleware_worker_heartbeat_age_seconds",
                                "Seconds since a Celery worker last ran the heartbeat task (NaN: never)",
                                value=_heartbeat_age())


def _heartbeat_age() -> float:
    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception:  # noqa: BLE001 - the cache being down is itself what this figure should show
        beat = None
    return math.nan if beat is None else round(time.time() - float(beat), 1)


_REGISTRY = CollectorRegistry(auto_describe=False)
_REGISTRY.register(MiddlewareCollector())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "METRICS_TOKEN", "") or ""
    if not token:
        return HttpResponse("Metrics are off: set METRICS_TOKEN.\n", status=404, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401, content_type="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return HttpResponse(generate_latest(_REGISTRY), content_type=CONTENT_TYPE_LATEST)
