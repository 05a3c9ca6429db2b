"""Reads of the activity view: events and deliveries of one store, filtered; counts per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from bigcommerce_app.models import InboundEvent, Store
from middleware.plumbing import charts
from ordergroove.models import Delivery

MAX_ROWS = 200


class InvalidFilter(ValueError):
    pass


@dataclass(frozen=True)
class ActivityFilter:
    status: str = ""
    kind: str = ""  # a Delivery.Kind, or an event scope
    q: str = ""  # order id, customer id or resource id
    days: int = 14

    @classmethod
    def from_query(cls, params, *, for_events: bool) -> ActivityFilter:
        status = (params.get("status") or "").strip()
        kind = (params.get("kind") or params.get("scope") or "").strip()
        valid_status = InboundEvent.Status.values if for_events else Delivery.Status.values
        if status and status not in valid_status:
            raise InvalidFilter(f"status must be one of {', '.join(valid_status)}")
        if kind and not for_events and kind not in Delivery.Kind.values:
            raise InvalidFilter(f"kind must be one of {', '.join(Delivery.Kind.values)}")
        try:
            days = int(params.get("days") or 14)
        except ValueError:
            raise InvalidFilter("days must be a whole number") from None
        if not 1 <= days <= 90:
            raise InvalidFilter("days must be between 1 and 90")
        return cls(status=status, kind=kind, q=(params.get("q") or "").strip()[:64], days=days)


def events_list(store: Store, flt: ActivityFilter) -> QuerySet[InboundEvent]:
    qs = InboundEvent.objects.filter(store=store, received_at__gte=timezone.now() - timedelta(days=flt.days))
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.kind:
        qs = qs.filter(scope=flt.kind)
    if flt.q:
        qs = qs.filter(resource_id=flt.q)
    return qs.order_by("-received_at")[:MAX_ROWS]


def deliveries_list(store: Store, flt: ActivityFilter) -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(store=store, created_at__gte=timezone.now() - timedelta(days=flt.days))
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.kind:
        qs = qs.filter(kind=flt.kind)
    if flt.q:
        qs = qs.filter(Q(merchant_order_id=flt.q) | Q(merchant_user_id=flt.q) | Q(key=flt.q))
    return qs.select_related("purchase_post").order_by("-created_at")[:MAX_ROWS]


def failed_counts(store: Store, *, kind: str = "") -> dict[str, int]:
    """What a "replay all failed" button would replay: failed deliveries (of `kind` when given) and events."""
    deliveries = Delivery.objects.filter(store=store, status=Delivery.Status.FAILED)
    if kind:
        deliveries = deliveries.filter(kind=kind)
    return {"deliveries": deliveries.count(),
            "events": InboundEvent.objects.filter(store=store, status=InboundEvent.Status.FAILED).count()}


def delivery_get(store: Store, delivery_id: int) -> Delivery | None:
    return (Delivery.objects.filter(store=store, pk=delivery_id).select_related("purchase_post", "source_event")
            .prefetch_related("attempt_rows").first())


def event_get(store: Store, event_id: int) -> InboundEvent | None:
    return InboundEvent.objects.filter(store=store, pk=event_id).first()


def daily_counts(store: Store, days: int = 14) -> list[dict]:
    """Per day (UTC) of the last `days`: events received, deliveries succeeded (incl. 409/207), failed, waiting."""
    today = timezone.now().date()
    start = today - timedelta(days=days - 1)
    rows: dict[date, dict] = {start + timedelta(days=i): {"date": start + timedelta(days=i), "events": 0,
                                                          "succeeded": 0, "failed": 0, "waiting": 0}
                              for i in range(days)}
    since = timezone.now() - timedelta(days=days + 1)
    events = (InboundEvent.objects.filter(store=store, received_at__gte=since)
              .annotate(day=TruncDate("received_at")).values("day").annotate(n=Count("pk")))
    for row in events:
        if row["day"] in rows:
            rows[row["day"]]["events"] = row["n"]
    buckets = {Delivery.Status.SUCCEEDED: "succeeded", Delivery.Status.DUPLICATE: "succeeded",
               Delivery.Status.PARTIAL: "succeeded", Delivery.Status.FAILED: "failed",
               Delivery.Status.PENDING: "waiting", Delivery.Status.SENDING: "waiting"}
    deliveries = (Delivery.objects.filter(store=store, created_at__gte=since)
                  .annotate(day=TruncDate("created_at")).values("day", "status").annotate(n=Count("pk")))
    for row in deliveries:
        bucket = buckets.get(row["status"])
        if bucket and row["day"] in rows:
            rows[row["day"]][bucket] += row["n"]
    return list(rows.values())


def chart(days: list[dict]) -> dict:
    """The Activity chart: per day, webhooks received, Ordergroove calls delivered and failed (plumbing.charts)."""
    return charts.bar_chart(charts.day_labels([day["date"] for day in days]), [
        charts.Series("webhooks received", [d["events"] for d in days]),
        charts.Series("calls delivered", [d["succeeded"] for d in days], "success"),
        charts.Series("calls failed", [d["failed"] for d in days], "danger"),
    ], title=f"BigCommerce webhooks and Ordergroove calls per day, last {len(days)} days", unit="day")
