"""The soak's own reads of the service's database (imported after django.setup()). PostgreSQL is the machine's
shared server: a read refused or dropped (out of connections, or the soak's own pg_terminate_backend) is done
again on a fresh connection for up to a minute."""

from __future__ import annotations

from collections import Counter

from django.db import OperationalError, connections
from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed

from bigcommerce_app.models import InboundEvent, OrderPlacement
from feeds.models import FeedRun
from ordergroove.models import Delivery, OrdergrooveEvent


def _connection_lost(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        connections.close_all()
        return True
    return False


read = retry(retry=retry_if_exception(_connection_lost), stop=stop_after_delay(60), wait=wait_fixed(2), reraise=True)


@read
def feed_runs(stores: tuple[str, ...]) -> list[dict]:
    return [{"pk": pk, "store": store, "started_at": started, "finished_at": finished, "status": status}
            for pk, store, started, finished, status in FeedRun.objects.filter(store__store_hash__in=stores)
            .values_list("pk", "store__store_hash", "started_at", "finished_at", "status")]


@read
def og_event_counts(stores: tuple[str, ...]) -> tuple[int, int]:
    """(stored, processed) Ordergroove events of the soak's stores."""
    rows = OrdergrooveEvent.objects.filter(store__store_hash__in=stores)
    return rows.count(), rows.filter(processed_at__isnull=False).count()


def outstanding(stores: tuple[str, ...]) -> dict[str, int]:
    """Work the drain waits for that only the database shows."""
    runs = Counter(run["status"] for run in feed_runs(stores))
    stored, processed = og_event_counts(stores)
    return {"feed runs active": runs["queued"] + runs["running"], "events not processed": stored - processed}


@read
def unfinished() -> dict[str, Counter]:
    """Where work sits in the database (printed when a goal fails)."""
    return {"inbound events": Counter(InboundEvent.objects.values_list("status", flat=True)),
            "deliveries": Counter(Delivery.objects.values_list("status", flat=True)),
            "placements": Counter(OrderPlacement.objects.values_list("state", flat=True))}
