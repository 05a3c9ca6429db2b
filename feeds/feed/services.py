"""Writes of the product feed's runs: request and execute runs, the schedule and incremental ticks, the
staleness alert.

A run builds both feed files in a temporary directory (feeds.feed.building: the category trees, then the
catalog page by page), then uploads them to the store's SFTP `/incoming/` (feeds.sftp: pinned host key, temp
name then rename; the pin itself is feeds.feed.host_keys).
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from bigcommerce_app.client import BigCommerceError, client_for_store
from bigcommerce_app.models import Store
from bigcommerce_app.services import alert_raise, alert_resolve, audit
from feeds import sftp
from feeds.feed import scheduling, selectors
from feeds.feed.building import FeedBuild, feed_build
from feeds.models import FeedRun, FeedSettings

logger = logging.getLogger(__name__)

# A slot is run by a tick within this long after it; older slots are not replayed (the staleness alert speaks).
SCHEDULE_GRACE = timedelta(seconds=getattr(settings, "FEED_SCHEDULE_GRACE_SECONDS", 15 * 60))
# A queued run no worker picked up for this long is failed so that the store can run again.
RUN_QUEUE_TIMEOUT = timedelta(seconds=getattr(settings, "FEED_RUN_QUEUE_TIMEOUT_SECONDS", 30 * 60))
# Incremental updates (issue 6 part 5): a run starts once the catalog has been quiet this long after the last
# product webhook, and at the latest this long after the first one (a store edited all day still gets runs).
INCREMENTAL_QUIET = timedelta(seconds=getattr(settings, "FEED_INCREMENTAL_QUIET_SECONDS", 5 * 60))
INCREMENTAL_MAX_WAIT = timedelta(seconds=getattr(settings, "FEED_INCREMENTAL_MAX_WAIT_SECONDS", 60 * 60))
ALERT_FAILED = "feed_failed"
ALERT_STALE = "feed_stale"


class FeedRunRefused(Exception):
    """The run cannot start (another one is active, the store is not installed...)."""

    def __init__(self, message: str, *, active: FeedRun | None = None):
        super().__init__(message)
        self.active = active


class FeedConfigError(Exception):
    """The store's settings do not allow a feed (no merchant ID, no SFTP server...)."""


# --- Requesting runs ------------------------------------------------------------------------------------------

def feed_runs_expire(store: Store, *, now: datetime | None = None) -> int:
    """Fail runs whose worker died (no heartbeat for FeedRun's lease time) or that no worker ever picked up, so
    a new run may start: a store waiting for its feed is better served by a fresh run than by one resumed late.
    Each is one conditional UPDATE, so a run that finishes meanwhile keeps its outcome."""
    now = now or timezone.now()
    gone = {"status": FeedRun.Status.FAILED, "finished_at": now, "lease_until": None, "next_attempt_at": None}
    lost = FeedRun.objects.filter(store=store, status=FeedRun.Status.RUNNING,
                                  heartbeat_at__lt=now - FeedRun.job_lease())
    count = lost.update(**gone,
                        error="The worker running this feed stopped reporting progress; the run was abandoned.")
    never = FeedRun.objects.filter(store=store, status=FeedRun.Status.QUEUED, created_at__lt=now - RUN_QUEUE_TIMEOUT)
    count += never.update(**gone, error="No worker picked this run up; is the Celery worker running?")
    return count


def feed_runs_sweep(*, now: datetime | None = None) -> int:
    """Send again the runs that lost their message (queued past FeedRun.job_stale_after, or marked due when the
    broker refused it) or their worker (lease expired): FeedRun's durable-job sweep. A queued run older than
    RUN_QUEUE_TIMEOUT is left to feed_runs_expire instead."""
    now = now or timezone.now()
    rows = FeedRun.objects.exclude(status=FeedRun.Status.QUEUED, created_at__lt=now - RUN_QUEUE_TIMEOUT)
    return FeedRun.sweep(rows=rows, now=now)


def feed_run_enqueue(run: FeedRun) -> None:
    """Send the run to a worker once the transaction that created it commits (the broker down: marked due for
    the sweep)."""
    FeedRun.enqueue_on_commit(run.pk)


def feed_run_request(store: Store, *, trigger: str, requested_by: str = "",
                     scheduled_for: datetime | None = None) -> FeedRun:
    """A queued run, or FeedRunRefused. The database guarantees one active run per store and one scheduled run
    per cron slot, whichever process asks. The caller sends it to a worker (feed_run_enqueue)."""
    if store.status != Store.Status.INSTALLED:
        raise FeedRunRefused("The app is not installed on this store (or needs re-authorization).")
    feed_runs_expire(store)
    try:
        with transaction.atomic():
            run = FeedRun.objects.create(store=store, trigger=trigger, requested_by=requested_by,
                                         scheduled_for=scheduled_for)
    except IntegrityError as exc:
        active = selectors.run_active(store)
        if active is not None:
            raise FeedRunRefused(f"A feed run is already {active.status} (run {active.pk}).", active=active) from exc
        raise FeedRunRefused("This schedule slot already has a run.") from exc
    if trigger == FeedRun.Trigger.MANUAL:
        audit(store, "feed_run_requested", actor=requested_by, run_id=run.pk)
    return run


def feed_schedule_tick(*, now: datetime | None = None) -> list[FeedRun]:
    """Beat's every-minute tick: one run per store whose cron slot is due. Safe with several beats: the slot's
    unique constraint lets exactly one tick create the run."""
    now = now or timezone.now()
    created = []
    every_field_star = Q(cron_minute="*", cron_hour="*", cron_day_of_month="*", cron_month="*",
                         cron_day_of_week="*")
    rows = (FeedSettings.objects.select_related("store").filter(store__status=Store.Status.INSTALLED)
            .exclude(every_field_star))
    for fs in rows:
        try:
            slot = scheduling.due_slot(fs.cron_expression, fs.time_zone, now, grace=SCHEDULE_GRACE)
        except (ValueError, KeyError) as exc:  # a malformed stored schedule must not stop the other stores
            logger.warning("Feed schedule of %s is invalid: %s", fs.store.store_hash, exc)
            continue
        if slot is None:
            continue
        if FeedRun.objects.filter(store=fs.store, trigger=FeedRun.Trigger.SCHEDULE, scheduled_for=slot).exists():
            continue
        try:
            created.append(feed_run_request(fs.store, trigger=FeedRun.Trigger.SCHEDULE, scheduled_for=slot))
        except FeedRunRefused as exc:
            logger.info("Scheduled feed of %s at %s waits: %s", fs.store.store_hash, slot, exc)
    return created


def catalog_change_record(store: Store, *, now: datetime | None = None) -> bool:
    """A product or SKU webhook: mark the store's feed as pending (one pending mark per store, however many
    webhooks). False when the store has incremental updates off (the webhook is ignored)."""
    now = now or timezone.now()
    return bool(FeedSettings.objects.filter(store=store, incremental_updates_enabled=True).update(
        catalog_changed_at=now, catalog_changed_first_at=Coalesce("catalog_changed_first_at", Value(now))))


def feed_incremental_tick(*, now: datetime | None = None) -> list[FeedRun]:
    """Beat's every-minute tick for incremental updates: one run per store whose pending catalog changes are due
    (quiet for INCREMENTAL_QUIET, or first seen INCREMENTAL_MAX_WAIT ago). The run goes through
    feed_run_request, so it is recorded and waits its turn behind an active run (the mark stays until a run is
    queued). At most one pending mark and one active run per store."""
    now = now or timezone.now()
    due = (Q(catalog_changed_at__lte=now - INCREMENTAL_QUIET)
           | Q(catalog_changed_first_at__lte=now - INCREMENTAL_MAX_WAIT))
    rows = (FeedSettings.objects.select_related("store")
            .filter(due, incremental_updates_enabled=True, store__status=Store.Status.INSTALLED))
    created = []
    for fs in rows:
        try:
            run = feed_run_request(fs.store, trigger=FeedRun.Trigger.WEBHOOK)
        except FeedRunRefused as exc:
            logger.info("Incremental feed of %s waits: %s", fs.store.store_hash, exc)
            continue
        # Changes that arrived since this row was read stay pending for a later run.
        FeedSettings.objects.filter(pk=fs.pk, catalog_changed_at=fs.catalog_changed_at).update(
            catalog_changed_at=None, catalog_changed_first_at=None)
        created.append(run)
    return created


def feed_staleness_check(*, now: datetime | None = None) -> list[Store]:
    """Raise (or resolve) the "feed is stale" alert of every scheduled store: the last good upload must be newer
    than the schedule allows. Catches the peer module's known failure, a cron that silently stopped."""
    now = now or timezone.now()
    stale = []
    for fs in FeedSettings.objects.select_related("store").filter(store__status=Store.Status.INSTALLED):
        status = selectors.schedule_status(fs.store, now=now)
        if status.is_stale:
            stale.append(fs.store)
            last = (f"{status.last_success_at:%Y-%m-%d %H:%M} UTC" if status.last_success_at
                    else "never")
            alert_raise(fs.store, ALERT_STALE,
                        f"The product feed has not reached Ordergroove since the run due at "
                        f"{status.stale_since:%Y-%m-%d %H:%M} UTC (last good upload: {last}). Check the feed "
                        f"runs and that the scheduler (Celery beat) and worker are running.",
                        severity="error", dedupe_key=ALERT_STALE,
                        detail={"stale_since": status.stale_since.isoformat(),
                                "last_success_at": status.last_success_at.isoformat()
                                if status.last_success_at else None})
        else:
            alert_resolve(fs.store, dedupe_key=ALERT_STALE)
    return stale


# --- Executing a run ------------------------------------------------------------------------------------------

def _check_ready(store: Store, fs: FeedSettings, identity: selectors.FeedIdentity) -> None:
    if not store.is_installed:
        raise FeedConfigError("The app is not installed on this store (or needs re-authorization).")
    if not identity.merchant_id:
        raise FeedConfigError("Set the Ordergroove merchant ID in Settings: the feed is named "
                              "<MERCHANT_ID>.Products.xml.")
    if "/" in identity.merchant_id or identity.merchant_id.startswith("."):
        raise FeedConfigError("The Ordergroove merchant ID cannot contain '/' or start with '.'.")
    if not fs.sftp_host or not fs.sftp_username or not (fs.sftp_password or fs.sftp_private_key):
        raise FeedConfigError("Set the SFTP server, username and password (or key) in Settings.")
    if not fs.sftp_host_key:
        raise FeedConfigError("Pin the SFTP server's host key on the Product feed page before the first upload.")


def feed_run_execute(run_id: int, *, upload_attempts: int = sftp.DEFAULT_UPLOAD_ATTEMPTS,
                     backoff: float = sftp.DEFAULT_BACKOFF_SECONDS) -> FeedRun:
    """Build and upload the feeds of a queued run. Idempotent: a run is claimed first (middleware.plumbing.jobs:
    queued, or running with its lease expired because its worker died; the task is acks_late), so a run that
    is done or being run by a live worker is left alone."""
    now = timezone.now()
    if not FeedRun.claim(run_id, now=now, started_at=now, heartbeat_at=now, error="",
                         phase=FeedRun.Phase.CATEGORIES):
        return FeedRun.objects.get(pk=run_id)
    run = FeedRun.objects.select_related("store").get(pk=run_id)
    store = run.store
    beat = _Heartbeat(run.pk)
    try:
        fs = selectors.feed_settings_for(store)
        identity = selectors.feed_identity(store)
        _check_ready(store, fs, identity)
        client = client_for_store(store)
        with tempfile.TemporaryDirectory(prefix="feed-") as tmp:
            build = feed_build(store, client, Path(tmp), identity, on_page=beat.page,
                               on_phase=lambda phase: beat(force=True, phase=phase))
            beat(force=True, phase=FeedRun.Phase.UPLOAD, catalog_read=build.catalog_read,
                 products=build.products, bytes=build.bytes, categories=build.categories,
                 categories_bytes=build.categories_bytes, warnings=build.warnings)
            _files_upload(run.pk, fs, build, beat, attempts=upload_attempts, backoff=backoff)
        FeedRun.succeed(run.pk, phase=FeedRun.Phase.DONE, heartbeat_at=timezone.now())
        alert_resolve(store, dedupe_key=ALERT_FAILED)
        alert_resolve(store, dedupe_key=ALERT_STALE)
        logger.info("Feed run %s of %s uploaded %d products (%d bytes)", run.pk, store.store_hash,
                    build.products, build.bytes)
    except (FeedConfigError, sftp.SftpError, BigCommerceError) as exc:
        _fail(run, str(exc))
    except Exception as exc:  # noqa: BLE001 - the run must end recorded, whatever broke (incl. time limits)
        logger.exception("Feed run %s of %s failed unexpectedly", run.pk, store.store_hash)
        _fail(run, f"Unexpected error: {exc.__class__.__name__}: {exc}")
    run.refresh_from_db()
    return run


class _Heartbeat:
    """A running run's progress reports; each renews its lease (FeedRun.extend_lease), at most once a second
    unless forced, so a long upload's callbacks do not write a row per block."""

    def __init__(self, run_pk: int):
        self.run_pk = run_pk
        self.last = time.monotonic()

    def __call__(self, force: bool = False, **fields) -> None:
        if not force and time.monotonic() - self.last < 1.0:
            return
        self.last = time.monotonic()
        now = timezone.now()
        FeedRun.extend_lease(self.run_pk, now=now, heartbeat_at=now, **fields)

    def page(self, build: FeedBuild, total: int | None) -> None:
        self(force=True, catalog_read=build.catalog_read, catalog_total=total, products=build.products,
             bytes=build.bytes, categories=build.categories, categories_bytes=build.categories_bytes)


def _files_upload(run_pk: int, fs: FeedSettings, build: FeedBuild, beat: _Heartbeat, *, attempts: int,
                  backoff: float) -> None:
    """Upload the products feed, then the categories feed, recording each file once it reached the server."""
    files, uploaded = [], 0
    for path in (build.products_path, build.categories_path):
        base = uploaded

        def progress(done: int, _total: int, base: int = base) -> None:
            beat(bytes_uploaded=base + done)

        result = sftp.sftp_upload(fs, path, path.name, attempts=attempts, backoff=backoff, progress=progress)
        uploaded += result.bytes
        files.append({"name": path.name, "remote_path": result.remote_path, "bytes": result.bytes,
                      "attempts": result.attempts})
        FeedRun.objects.filter(pk=run_pk).update(host_key_fingerprint=result.fingerprint, bytes_uploaded=uploaded,
                                                 files=files)


def _fail(run: FeedRun, message: str) -> None:
    FeedRun.fail(run.pk, message, heartbeat_at=timezone.now())
    alert_raise(run.store, ALERT_FAILED, f"The product feed run failed: {message}", dedupe_key=ALERT_FAILED,
                detail={"run_id": run.pk})
