"""Writes of the product feed: request and execute runs, the schedule tick, the staleness alert, host key pins.

A run reads the category trees, then walks the catalog page by page, writing the product feed and the
categories feed's product links as it goes (two local temporary files: memory stays flat whatever the catalog
size, and an upload retry does not re-read the catalog), then uploads both files to the store's SFTP
`/incoming/` (feeds.sftp: pinned host key, temp name then rename).
"""

from __future__ import annotations

import json
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from bigcommerce_app.client import (
    MAX_PAGE_SIZE,
    BigCommerceClient,
    BigCommerceError,
    BigCommerceUnauthorized,
    client_for_store,
)
from bigcommerce_app.models import Store
from bigcommerce_app.services import alert_raise, alert_resolve, audit
from feeds import sftp
from feeds.feed import categories as cat_xml
from feeds.feed import scheduling, selectors
from feeds.feed import xml_feed as xf
from feeds.models import FeedRun, FeedSettings, ProductSubscriptionSetting

logger = logging.getLogger(__name__)

PRODUCT_INCLUDE = "variants,primary_image"
# A slot is run by a tick within this long after it; older slots are not replayed (the staleness alert speaks).
SCHEDULE_GRACE = timedelta(seconds=getattr(settings, "FEED_SCHEDULE_GRACE_SECONDS", 15 * 60))
# A running run whose worker has not reported for this long is considered lost.
RUN_HEARTBEAT_TIMEOUT = timedelta(seconds=getattr(settings, "FEED_RUN_HEARTBEAT_TIMEOUT_SECONDS", 10 * 60))
# A queued run no worker picked up for this long is failed so that the store can run again.
RUN_QUEUE_TIMEOUT = timedelta(seconds=getattr(settings, "FEED_RUN_QUEUE_TIMEOUT_SECONDS", 30 * 60))
# A queued run still unclaimed this long after it was requested lost its message (broker restart, or the worker
# that took it died or failed before claiming): beat's tick sends it again. Claiming is one conditional UPDATE,
# so a second message for a run that was only waiting behind others does nothing.
RUN_REQUEUE_AFTER = timedelta(seconds=getattr(settings, "FEED_RUN_REQUEUE_SECONDS", 120))
# Incremental updates (issue 6 part 5): a run starts once the catalog has been quiet this long after the last
# product webhook, and at the latest this long after the first one (a store edited all day still gets runs).
INCREMENTAL_QUIET = timedelta(seconds=getattr(settings, "FEED_INCREMENTAL_QUIET_SECONDS", 5 * 60))
INCREMENTAL_MAX_WAIT = timedelta(seconds=getattr(settings, "FEED_INCREMENTAL_MAX_WAIT_SECONDS", 60 * 60))
MAX_WARNINGS = 50
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
    """Fail runs whose worker died (no heartbeat) or that no worker ever picked up, so a new run may start."""
    now = now or timezone.now()
    lost = FeedRun.objects.filter(store=store, status=FeedRun.Status.RUNNING,
                                  heartbeat_at__lt=now - RUN_HEARTBEAT_TIMEOUT)
    count = lost.update(status=FeedRun.Status.FAILED, finished_at=now,
                        error="The worker running this feed stopped reporting progress; the run was abandoned.")
    never = FeedRun.objects.filter(store=store, status=FeedRun.Status.QUEUED, created_at__lt=now - RUN_QUEUE_TIMEOUT)
    count += never.update(status=FeedRun.Status.FAILED, finished_at=now,
                          error="No worker picked this run up; is the Celery worker running?")
    return count


def feed_runs_to_requeue(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Queued runs older than RUN_REQUEUE_AFTER that have not expired yet: their message may be lost."""
    now = now or timezone.now()
    return list(FeedRun.objects.filter(status=FeedRun.Status.QUEUED, created_at__lt=now - RUN_REQUEUE_AFTER,
                                       created_at__gte=now - RUN_QUEUE_TIMEOUT)
                .order_by("created_at").values_list("pk", flat=True)[:limit])


def feed_run_request(store: Store, *, trigger: str, requested_by: str = "",
                     scheduled_for: datetime | None = None) -> FeedRun:
    """A queued run, or FeedRunRefused. The database guarantees one active run per store and one scheduled run
    per cron slot, whichever process asks. The caller enqueues `feeds.feed_run_execute` after commit."""
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

@dataclass
class FeedBuild:
    products_path: Path
    categories_path: Path
    catalog_read: int = 0
    products: int = 0
    categories: int = 0
    bytes: int = 0
    categories_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def storefront_url(client: BigCommerceClient) -> str:
    info = client.store_information()
    url = info.get("secure_url") or (f"https://{info['domain']}" if info.get("domain") else "")
    return str(url).rstrip("/")


def feed_build(store: Store, client: BigCommerceClient, directory: Path, identity: selectors.FeedIdentity, *,
               on_page: Callable[[FeedBuild, int | None], None] | None = None,
               on_phase: Callable[[str], None] | None = None, page_size: int = MAX_PAGE_SIZE) -> FeedBuild:
    """Write both feeds into `directory`, streaming the catalog one page at a time. The pages are fetched on a
    thread of their own (_CatalogPages), so writing one page overlaps fetching the next ones, and the first
    page is already on its way while the store's URL and category trees are read."""
    build = FeedBuild(products_path=directory / identity.products_file,
                      categories_path=directory / identity.categories_file)
    with _CatalogPages(client, page_size) as pages:
        base_url = storefront_url(client)
        ctx = xf.FeedContext(storefront_url=base_url, incentive_group=identity.incentive_group)
        if on_phase:
            on_phase(FeedRun.Phase.CATEGORIES)
        with build.products_path.open("wb") as products_out, build.categories_path.open("wb") as categories_out:
            def out(data: str) -> None:
                encoded = data.encode("utf-8")
                products_out.write(encoded)
                build.bytes += len(encoded)

            def cat_out(data: str) -> None:
                encoded = data.encode("utf-8")
                categories_out.write(encoded)
                build.categories_bytes += len(encoded)

            known: set[int] = set()
            cat_out(cat_xml.categories_open())
            for tree in client.category_trees():
                nodes = client.tree_categories(int(tree["id"]))
                for category in cat_xml.flatten_tree(int(tree["id"]), nodes, base_url):
                    if category.category_id in known:
                        continue
                    known.add(category.category_id)
                    cat_out(cat_xml.category_xml(category))
                    build.categories += 1
            cat_out(cat_xml.links_open())

            if on_phase:
                on_phase(FeedRun.Phase.CATALOG)
            out(xf.products_open())
            for body in pages:
                rows = body.get("data") or []
                pagination = (body.get("meta") or {}).get("pagination") or {}
                product_settings = _settings_for(store, xf.product_ids_of(rows))
                products_xml, links_xml = [], []
                for product in rows:
                    entry = xf.product_entries(product, product_settings.get(int(product["id"])), ctx)
                    products_xml.append(entry.xml)
                    build.products += entry.entries
                    if entry.warnings and len(build.warnings) < MAX_WARNINGS:
                        build.warnings.extend(entry.warnings[:MAX_WARNINGS - len(build.warnings)])
                    links = cat_xml.product_links_xml(entry.og_product_ids, product.get("categories") or [], known)
                    if links:
                        links_xml.append(links)
                # One write per page and file: few system calls, so few GIL hand-overs with the page thread.
                out("".join(products_xml))
                cat_out("".join(links_xml))
                build.catalog_read += len(rows)
                total = pagination.get("total")
                if on_page:
                    on_page(build, int(total) if total is not None else None)
            out(xf.products_close())
            cat_out(cat_xml.categories_close())
    return build


def _settings_for(store: Store, product_ids: list[int]) -> dict[int, xf.ProductSetting]:
    """The CSV rows of one page's products: one query, plain values. Written as SQL because this runs once per
    catalog page on the run's busy thread, and the ORM's query building and per-value converters cost more than
    the query itself. `frequencies` arrives as JSON text (Django has both SQLite and psycopg load jsonb as
    text); booleans as 0/1 on SQLite."""
    if not product_ids:
        return {}
    meta, quote = ProductSubscriptionSetting._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column)
                        for name in ("bc_product_id", "autoship_eligible", "discontinued", "frequencies"))
    # Identifiers from the model, every value a parameter.
    sql = (f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.get_field('store').column)} = %s "  # noqa: S608
           f"AND {quote(meta.get_field('bc_product_id').column)} IN ({', '.join(['%s'] * len(product_ids))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [store.pk, *(int(pid) for pid in product_ids)])
        rows = cursor.fetchall()
    return {int(pid): xf.ProductSetting.from_values(
                eligible, discontinued, json.loads(frequencies) if isinstance(frequencies, str) else frequencies)
            for pid, eligible, discontinued, frequencies in rows}


@dataclass
class _PageFailed:
    error: BaseException


class _CatalogPages:
    """The catalog's pages in order, fetched by a thread of their own ahead of the caller, so a feed run takes
    about max(paging, writing) instead of their sum.

    - At most `depth` fetched pages wait for the caller: memory stays flat whatever the catalog size.
    - The thread walks the pages like any catalog walk: one page request at a time, the same requests.
    - A page that fails is raised in the caller's thread in its place, after the pages before it have been
      handed over, as a one-thread walk would have met it; nothing after it is fetched. The thread touches no
      database: a 401's hook (the store needs re-authorization) runs in the caller's thread when the error
      reaches it.
    - Leaving the block early (the caller failed) stops the thread before returning.
    """

    _DONE = object()

    def __init__(self, client: BigCommerceClient, page_size: int, depth: int = 2):
        self._client = client
        self._page_size = page_size
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._walk, args=(client.for_worker_thread(),),
                                        name="feed-catalog-pages", daemon=True)

    def __enter__(self) -> _CatalogPages:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[dict]:
        while (item := self._queue.get()) is not self._DONE:
            if isinstance(item, _PageFailed):
                if isinstance(item.error, BigCommerceUnauthorized):
                    self._client.report_unauthorized()
                raise item.error
            yield item

    def _walk(self, client: BigCommerceClient) -> None:
        page = 1
        try:
            while True:
                body = client.products_page(page, include=PRODUCT_INCLUDE, limit=self._page_size)
                if not self._hand_over(body):
                    return
                rows = body.get("data") or []
                total_pages = ((body.get("meta") or {}).get("pagination") or {}).get("total_pages")
                if not rows or total_pages is None or page >= int(total_pages):
                    break
                page += 1
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self._hand_over(_PageFailed(exc))
            return
        self._hand_over(self._DONE)

    def _hand_over(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


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


def _claim(run_id: int, now: datetime) -> bool:
    """Queued → running, or take over a running run whose worker died (the task is acks_late)."""
    fields = {"status": FeedRun.Status.RUNNING, "started_at": now, "heartbeat_at": now, "error": "",
              "phase": FeedRun.Phase.CATEGORIES}
    if FeedRun.objects.filter(pk=run_id, status=FeedRun.Status.QUEUED).update(**fields):
        return True
    return bool(FeedRun.objects.filter(pk=run_id, status=FeedRun.Status.RUNNING,
                                       heartbeat_at__lt=now - RUN_HEARTBEAT_TIMEOUT).update(**fields))


def feed_run_execute(run_id: int, *, upload_attempts: int = sftp.DEFAULT_UPLOAD_ATTEMPTS,
                     backoff: float = sftp.DEFAULT_BACKOFF_SECONDS) -> FeedRun:
    """Build and upload the feeds of a queued run. Idempotent: a run that is not queued (already done, or being
    run by a live worker) is left alone."""
    if not _claim(run_id, timezone.now()):
        return FeedRun.objects.get(pk=run_id)
    run = FeedRun.objects.select_related("store").get(pk=run_id)
    store = run.store
    last_beat = [time.monotonic()]

    def update(force: bool = False, **fields) -> None:
        if not force and time.monotonic() - last_beat[0] < 1.0:
            return
        last_beat[0] = time.monotonic()
        FeedRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now(), **fields)

    try:
        fs = selectors.feed_settings_for(store)
        identity = selectors.feed_identity(store)
        _check_ready(store, fs, identity)
        client = client_for_store(store)
        with tempfile.TemporaryDirectory(prefix="feed-") as tmp:
            def on_page(build: FeedBuild, total: int | None) -> None:
                update(force=True, catalog_read=build.catalog_read, catalog_total=total, products=build.products,
                       bytes=build.bytes, categories=build.categories, categories_bytes=build.categories_bytes)

            build = feed_build(store, client, Path(tmp), identity, on_page=on_page,
                               on_phase=lambda phase: update(force=True, phase=phase))
            update(force=True, phase=FeedRun.Phase.UPLOAD, catalog_read=build.catalog_read,
                   products=build.products, bytes=build.bytes, categories=build.categories,
                   categories_bytes=build.categories_bytes, warnings=build.warnings)
            files, uploaded = [], 0
            for path in (build.products_path, build.categories_path):
                base = uploaded

                def progress(done: int, _total: int, base: int = base) -> None:
                    update(bytes_uploaded=base + done)

                result = sftp.sftp_upload(fs, path, path.name, attempts=upload_attempts, backoff=backoff,
                                          progress=progress)
                uploaded += result.bytes
                files.append({"name": path.name, "remote_path": result.remote_path, "bytes": result.bytes,
                              "attempts": result.attempts})
                FeedRun.objects.filter(pk=run.pk).update(host_key_fingerprint=result.fingerprint,
                                                         bytes_uploaded=uploaded, files=files)
        FeedRun.objects.filter(pk=run.pk).update(status=FeedRun.Status.SUCCEEDED, phase=FeedRun.Phase.DONE,
                                                 finished_at=timezone.now(), heartbeat_at=timezone.now())
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


def _fail(run: FeedRun, message: str) -> None:
    FeedRun.objects.filter(pk=run.pk).update(status=FeedRun.Status.FAILED, finished_at=timezone.now(),
                                             heartbeat_at=timezone.now(), error=message[:4000])
    alert_raise(run.store, ALERT_FAILED, f"The product feed run failed: {message}", dedupe_key=ALERT_FAILED,
                detail={"run_id": run.pk})


# --- Host key pinning -----------------------------------------------------------------------------------------------

@dataclass
class HostKeyView:
    host: str
    port: int
    pinned: str  # OpenSSH form, "" when nothing is pinned
    pinned_fingerprint: str
    presented: str = ""  # what the server shows now (after a scan)
    presented_fingerprint: str = ""
    error: str = ""

    @property
    def matches(self) -> bool:
        return bool(self.pinned_fingerprint) and self.pinned_fingerprint == self.presented_fingerprint

    def as_dict(self) -> dict:
        return {"host": self.host, "port": self.port, "pinned": self.pinned,
                "pinned_fingerprint": self.pinned_fingerprint, "presented": self.presented,
                "presented_fingerprint": self.presented_fingerprint, "matches": self.matches, "error": self.error}


def host_key_view(fs: FeedSettings, *, scan: bool = False) -> HostKeyView:
    pinned_fp = ""
    if fs.sftp_host_key:
        try:
            pinned_fp = sftp.host_key_fingerprint_of_line(fs.sftp_host_key)
        except sftp.SftpConfigError as exc:
            pinned_fp = f"(invalid: {exc})"
    view = HostKeyView(host=fs.sftp_host, port=fs.sftp_port, pinned=fs.sftp_host_key, pinned_fingerprint=pinned_fp)
    if scan:
        if not fs.sftp_host:
            view.error = "No SFTP server is configured."
            return view
        try:
            key = sftp.host_key_scan(fs.sftp_host, fs.sftp_port)
            view.presented, view.presented_fingerprint = sftp.host_key_line(key), sftp.host_key_fingerprint(key)
        except sftp.SftpError as exc:
            view.error = str(exc)
    return view


def host_key_pin(fs: FeedSettings, *, fingerprint: str, actor: str = "") -> HostKeyView:
    """Pin the key the server presents now, but only if it is the one the merchant saw and approved (its
    fingerprint): a key swapped between showing and pinning is refused."""
    fingerprint = (fingerprint or "").strip()
    if not fingerprint:
        raise sftp.SftpConfigError("Give the fingerprint you verified (SHA256:...).")
    key = sftp.host_key_scan(fs.sftp_host, fs.sftp_port)
    presented = sftp.host_key_fingerprint(key)
    if presented != fingerprint:
        raise sftp.SftpHostKeyError(f"The server now presents {presented}, not the fingerprint you approved "
                                    f"({fingerprint}). Nothing was pinned.", presented_key=key)
    previous = fs.sftp_host_key
    fs.sftp_host_key = sftp.host_key_line(key)
    fs.save(update_fields=["sftp_host_key", "updated_at"])
    audit(fs.store, "sftp_host_key_pinned", actor=actor, fingerprint=presented,
          previous=sftp.host_key_fingerprint_of_line(previous) if previous else "")
    return host_key_view(fs)
