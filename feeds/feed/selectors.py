"""Reads for the product feed: runs, schedule status (the settings and identity: feeds.store_settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bigcommerce_app.models import Store
from feeds.feed import scheduling
from feeds.models import FeedRun

# The store's feed settings and identity are the settings owner's read API; named here too, where the feed's
# services, views and tests have always found them.
from feeds.store_settings.selectors import FeedIdentity, feed_identity, feed_settings_for
from middleware.plumbing import charts

__all__ = ["FeedIdentity", "feed_identity", "feed_settings_for", "runs_recent", "runs_chart", "run_active",
           "run_last_success", "ScheduleStatus", "schedule_status", "run_as_dict"]

FEED_STALE_ALLOWANCE = timedelta(seconds=getattr(settings, "FEED_STALE_ALLOWANCE_SECONDS", 2 * 3600))


def runs_recent(store: Store, limit: int = 20) -> list[FeedRun]:
    return list(FeedRun.objects.filter(store=store).order_by("-created_at", "-pk")[:limit])


def runs_chart(store: Store, days: int = 14) -> dict:
    """Feed runs per day (UTC) of the last `days`, succeeded and failed, as an inline SVG bar chart."""
    return charts.daily_chart(FeedRun.objects.filter(store=store), date_field="created_at", group_field="status",
                              series=[(FeedRun.Status.SUCCEEDED, "runs succeeded", "success"),
                                      (FeedRun.Status.FAILED, "runs failed", "danger")],
                              title=f"Product feed runs per day, last {days} days", days=days)


def run_get(store: Store, run_id: int) -> FeedRun | None:
    """One of the store's runs (None for an unknown ID or another store's run)."""
    return FeedRun.objects.filter(store=store, pk=run_id).first()


def run_active(store: Store) -> FeedRun | None:
    return FeedRun.objects.filter(store=store, status__in=("queued", "running")).first()


def run_last_success(store: Store) -> FeedRun | None:
    return (FeedRun.objects.filter(store=store, status=FeedRun.Status.SUCCEEDED)
            .order_by("-finished_at").first())


@dataclass
class ScheduleStatus:
    scheduled: bool
    expression: str
    time_zone: str
    next_run: datetime | None
    last_success_at: datetime | None
    stale_since: datetime | None  # the slot whose upload is missing (None = fine)

    @property
    def is_stale(self) -> bool:
        return self.stale_since is not None


def schedule_status(store: Store, *, now: datetime | None = None) -> ScheduleStatus:
    fs = feed_settings_for(store)
    now = now or timezone.now()
    last = run_last_success(store)
    last_at = last.finished_at if last else None
    expression = fs.cron_expression
    scheduled = fs.is_scheduled
    stale = None
    if scheduled:
        stale = scheduling.stale_since(expression, fs.time_zone, now, last_success=last_at,
                                       scheduled_since=fs.updated_at, allowance=FEED_STALE_ALLOWANCE)
    return ScheduleStatus(scheduled=scheduled, expression=expression, time_zone=fs.time_zone,
                          next_run=scheduling.next_slot(expression, fs.time_zone, now) if scheduled else None,
                          last_success_at=last_at, stale_since=stale)


def run_as_dict(run: FeedRun) -> dict:
    return {
        "id": run.pk, "trigger": run.trigger, "status": run.status, "phase": run.phase,
        "scheduled_for": run.scheduled_for, "requested_by": run.requested_by, "created_at": run.created_at,
        "started_at": run.started_at, "finished_at": run.finished_at, "duration_seconds": run.duration_seconds,
        "catalog_total": run.catalog_total, "catalog_read": run.catalog_read, "products": run.products,
        "categories": run.categories, "bytes": run.bytes, "categories_bytes": run.categories_bytes,
        "bytes_uploaded": run.bytes_uploaded, "progress_percent": run.progress_percent, "files": run.files,
        "host_key_fingerprint": run.host_key_fingerprint, "warnings": run.warnings, "error": run.error,
    }
