"""Writes of the app lifecycle: install, load, uninstall, remove user, webhook registration."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone

from bigcommerce_app import registry
from bigcommerce_app.client import BigCommerceError, client_for_store, exchange_code
from bigcommerce_app.models import (
    Alert,
    AuditEvent,
    InboundEvent,
    Store,
    StoreUser,
    WebhookSubscription,
    new_webhook_token,
)
from bigcommerce_app.signed_payload import SignedPayload
from bigcommerce_app.storefront_content import storefront_content_forget, storefront_content_reconcile
from middleware.plumbing.fields import EncryptedTextField

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/bigcommerce"
WEBHOOK_TOKEN_HEADER = "X-Webhook-Token"


class UnknownStore(Exception):
    """A signed payload names a store that never installed the app (or uninstalled it)."""


class UserRevoked(Exception):
    """The user was removed from the app and this payload predates a fresh grant."""


def audit(store: Store, kind: str, actor: str = "", **detail) -> None:
    AuditEvent.objects.create(store=store, kind=kind, actor=actor, detail=detail)


def webhook_destination() -> str:
    return f"{settings.APP_URL}{WEBHOOK_PATH}"


# --- Install ----------------------------------------------------------------------------------------------

def store_install(*, code: str, scope: str, context: str, account_uuid: str = "") -> tuple[Store, StoreUser]:
    """The auth callback: exchange the code, upsert the store (a repeat install or re-authorization updates
    the same row), record the installing user and the owner, then register webhooks."""
    grant = exchange_code(code=code, scope=scope, context=context)
    store_hash = str(grant["context"]).split("/", 1)[1]
    user = grant.get("user") or {}
    owner = grant.get("owner") or {}
    now = timezone.now()
    with transaction.atomic():
        store, created = Store.objects.select_for_update().get_or_create(store_hash=store_hash)
        store.access_token = grant["access_token"]
        store.scope = grant.get("scope") or scope
        store.account_uuid = grant.get("account_uuid") or account_uuid
        store.owner_id = owner.get("id")
        store.owner_email = owner.get("email") or ""
        store.status = Store.Status.INSTALLED
        store.installed_at = now
        store.uninstalled_at = None
        store.reauth_required_at = None
        if not store.webhook_token:
            store.webhook_token = new_webhook_token()
        store.save()
        installer = _user_upsert(store, user_id=int(user["id"]), email=user.get("email") or "",
                                 is_owner=user.get("id") == owner.get("id"), now=now)
        if owner.get("id") is not None and owner.get("id") != user.get("id"):
            _user_upsert(store, user_id=int(owner["id"]), email=owner.get("email") or "", is_owner=True,
                         now=now, touch_load=False)
        registry.store_setup(store)  # the settings owners create their rows (registered at start-up)
        audit(store, "installed" if created else "reinstalled", actor=installer.email,
              scope=store.scope, account_uuid=store.account_uuid)
    webhooks_register(store)
    storefront_origins_refresh(store)
    storefront_content_reconcile(store)
    return store, installer


def _user_upsert(store: Store, *, user_id: int, email: str, is_owner: bool, now, locale: str = "",
                 touch_load: bool = True) -> StoreUser:
    user, _ = StoreUser.objects.get_or_create(store=store, bc_user_id=user_id,
                                              defaults={"email": email, "is_owner": is_owner})
    user.email = email or user.email
    user.is_owner = user.is_owner or is_owner
    user.locale = locale or user.locale
    user.removed_at = None
    if touch_load:
        user.last_load_at = now
    user.save()
    return user


# --- Load -------------------------------------------------------------------------------------------------

def store_load(payload: SignedPayload) -> StoreUser:
    """A control-panel user opened the app. Unknown or uninstalled stores are refused; a user removed after
    this token was issued is refused; anyone else is recorded (multi-user apps)."""
    store = Store.objects.filter(store_hash=payload.store_hash).first()
    if store is None or store.status == Store.Status.UNINSTALLED:
        raise UnknownStore(payload.store_hash)
    now = timezone.now()
    with transaction.atomic():
        user = StoreUser.objects.filter(store=store, bc_user_id=payload.user_id).first()
        if user and user.removed_at and user.removed_at.timestamp() >= payload.issued_at:
            raise UserRevoked(f"user {payload.user_id}")
        user = _user_upsert(store, user_id=payload.user_id, email=payload.user_email,
                            is_owner=payload.user_id == payload.owner_id, locale=payload.user_locale, now=now)
        audit(store, "loaded", actor=user.email, user_id=user.bc_user_id)
    if store.status == Store.Status.INSTALLED:
        webhooks_register(store)
        storefront_origins_refresh(store)
        storefront_content_reconcile(store)
    return user


# --- Uninstall / remove user --------------------------------------------------------------------------------

def store_uninstall(payload: SignedPayload) -> Store:
    """Purge every secret of the store; keep the row, users and audit trail."""
    with transaction.atomic():
        store = Store.objects.select_for_update().filter(store_hash=payload.store_hash).first()
        if store is None:
            raise UnknownStore(payload.store_hash)
        store.access_token = ""
        store.webhook_token = ""
        store.status = Store.Status.UNINSTALLED
        store.uninstalled_at = timezone.now()
        store.save()
        secrets_purge(store)
        WebhookSubscription.objects.filter(store=store).update(is_active=False, bc_hook_id=None)
        storefront_content_forget(store)
        audit(store, "uninstalled", actor=payload.user_email, user_id=payload.user_id)
    return store


def secrets_purge(store: Store) -> None:
    """Blank every encrypted field that belongs to the store, whichever app defines it."""
    for model in apps.get_models():
        store_fields = [f for f in model._meta.concrete_fields if f.is_relation and f.related_model is Store]
        secret_fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if model is Store or not store_fields or not secret_fields:
            continue
        for fk in store_fields:
            for row in model.objects.filter(**{fk.name: store}):
                for name in secret_fields:
                    setattr(row, name, "")
                row.save(update_fields=secret_fields)


def store_user_remove(payload: SignedPayload) -> StoreUser | None:
    store = Store.objects.filter(store_hash=payload.store_hash).first()
    if store is None:
        raise UnknownStore(payload.store_hash)
    user = StoreUser.objects.filter(store=store, bc_user_id=payload.user_id).first()
    if user is None:
        user = StoreUser.objects.create(store=store, bc_user_id=payload.user_id, email=payload.user_email)
    user.removed_at = timezone.now()
    user.save(update_fields=["removed_at"])
    audit(store, "user_removed", actor=payload.owner_email, user_id=payload.user_id, email=user.email)
    return user


def store_mark_needs_reauth(store: Store) -> None:
    """BigCommerce refused the stored token: the merchant must open (re-authorize) the app again."""
    if store.status != Store.Status.INSTALLED:
        return
    Store.objects.filter(pk=store.pk, status=Store.Status.INSTALLED).update(
        status=Store.Status.NEEDS_REAUTH, reauth_required_at=timezone.now())
    store.status = Store.Status.NEEDS_REAUTH
    audit(store, "needs_reauth")
    logger.warning("BigCommerce refused the stored token of store %s: re-authorization needed", store.store_hash)


# --- Webhooks ------------------------------------------------------------------------------------------------

def webhooks_register(store: Store) -> list[WebhookSubscription]:
    """Make BigCommerce hold exactly one active hook per needed scope, pointing at our inbox with the store's
    X-Webhook-Token. Idempotent: existing hooks are reused, deactivated ones re-enabled, stale headers fixed.
    Our hooks for scopes no longer needed (the catalog hooks once incremental feed updates are turned off) are
    deactivated, not deleted: BigCommerce stops sending them, and turning the setting on again re-enables them.

    One reconcile per store at a time (the store row locked, the needed scopes read after the lock): two quick
    settings saves, on then off, must not end with the first one's hooks re-enabled after the second."""
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()
        return _webhooks_reconcile(store)


def _webhooks_reconcile(store: Store) -> list[WebhookSubscription]:
    destination = webhook_destination()
    wanted_headers = {WEBHOOK_TOKEN_HEADER: store.webhook_token}
    client = client_for_store(store)
    now = timezone.now()
    try:
        existing = [h for h in client.hooks() if h.get("destination") == destination]
    except BigCommerceError as exc:
        WebhookSubscription.objects.filter(store=store).update(last_error=str(exc))
        logger.warning("Listing hooks of store %s failed: %s", store.store_hash, exc)
        return list(store.webhooks.all())
    by_scope: dict[str, dict] = {}
    for hook in existing:
        by_scope.setdefault(hook["scope"], hook)
    wanted = registry.scopes_for(store)
    still_active = _webhooks_deactivate(
        store, client, [h for h in existing if h["scope"] not in wanted and h.get("is_active")], now)
    # The console lists the needed scopes, and any it could not switch off.
    WebhookSubscription.objects.filter(store=store).exclude(scope__in=[*wanted, *still_active]).delete()
    rows = []
    for scope in wanted:
        hook = by_scope.get(scope)
        error = ""
        try:
            if hook is None:
                hook = client.hook_create(scope=scope, destination=destination, headers=wanted_headers)
            elif not hook.get("is_active") or (hook.get("headers") or {}) != wanted_headers:
                hook = client.hook_update(hook["id"], is_active=True, headers=wanted_headers)
        except BigCommerceError as exc:
            error = str(exc)
            logger.warning("Registering %s for store %s failed: %s", scope, store.store_hash, exc)
        row, _ = WebhookSubscription.objects.update_or_create(
            store=store, scope=scope,
            defaults={"bc_hook_id": (hook or {}).get("id"), "destination": destination,
                      "is_active": bool((hook or {}).get("is_active")) and not error,
                      "last_synced_at": now, "last_error": error},
        )
        rows.append(row)
    return rows


def _webhooks_deactivate(store: Store, client, hooks: list[dict], now) -> set[str]:
    """Deactivate hooks of scopes the store no longer needs; returns the scopes BigCommerce would not switch
    off (their rows keep the error, for the console to show)."""
    failed: set[str] = set()
    for hook in hooks:
        try:
            client.hook_update(hook["id"], is_active=False)
        except BigCommerceError as exc:
            logger.warning("Deactivating %s for store %s failed: %s", hook["scope"], store.store_hash, exc)
            WebhookSubscription.objects.filter(store=store, scope=hook["scope"]).update(
                last_synced_at=now, last_error=f"not needed any more, but deactivating failed: {exc}")
            failed.add(hook["scope"])
    return failed


def storefront_origins_refresh(store: Store) -> list[str]:
    """Remember the store's storefront origins (every channel site URL) for CORS on storefront endpoints."""
    client = client_for_store(store)
    origins: set[str] = set()
    try:
        for site in client.channel_sites():
            for entry in [{"url": site.get("url")}, *(site.get("urls") or [])]:
                url = entry.get("url")
                if url:
                    parts = urlsplit(url)
                    if parts.scheme in ("http", "https") and parts.netloc:
                        origins.add(f"{parts.scheme}://{parts.netloc}")
        info = client.store_information()
        if info.get("secure_url"):
            parts = urlsplit(info["secure_url"])
            origins.add(f"{parts.scheme}://{parts.netloc}")
    except BigCommerceError as exc:
        logger.warning("Refreshing storefront origins of %s failed: %s", store.store_hash, exc)
        return list(store.storefront_origins)
    store.storefront_origins = sorted(origins)
    Store.objects.filter(pk=store.pk).update(storefront_origins=store.storefront_origins)
    return store.storefront_origins


# --- Alerts ------------------------------------------------------------------------------------------------

def alert_raise(store: Store, kind: str, message: str, *, severity: str = "error", detail: dict | None = None,
                dedupe_key: str = "") -> Alert:
    """Show a console banner, write a log event and e-mail ALERT_EMAILS (when configured). An open alert with
    the same dedupe key is bumped instead of duplicated, so a flapping failure does not flood anyone."""
    now = timezone.now()
    key = dedupe_key or f"{kind}:{message[:120]}"
    alert = Alert.objects.filter(store=store, dedupe_key=key, resolved_at__isnull=True).first()
    if alert and alert.acknowledged_at and (alert.message, alert.detail) != (message, detail or {}):
        # The merchant acknowledged the previous one; this is news (another order, run, error): the old alert is
        # closed as superseded and the new one shows (and is e-mailed) again.
        Alert.objects.filter(pk=alert.pk).update(resolved_at=now)
        alert = None
    if alert:
        Alert.objects.filter(pk=alert.pk).update(occurrences=models.F("occurrences") + 1, last_seen_at=now,
                                                 message=message, detail=detail or {})
        alert.refresh_from_db()
        return alert
    alert = Alert.objects.create(store=store, kind=kind, severity=severity, message=message, detail=detail or {},
                                 dedupe_key=key, created_at=now, last_seen_at=now)
    log = logger.error if severity == Alert.Severity.ERROR else logger.warning
    log("ALERT store=%s kind=%s: %s", store.store_hash, kind, message)
    if settings.ALERT_EMAILS:
        try:
            send_mail(f"[Ordergroove middleware] {store.store_hash}: {kind}", f"{message}\n\n{detail or ''}",
                      settings.DEFAULT_FROM_EMAIL, settings.ALERT_EMAILS, fail_silently=False)
        except Exception:  # noqa: BLE001 - a mail outage must not break the caller; the banner stays
            logger.exception("Sending the alert e-mail failed")
    return alert


def alert_acknowledge(alert: Alert, *, actor: str) -> bool:
    """The merchant read the banner: hide it until a new alert of its kind comes. Audited; False when it was
    already acknowledged (nothing changed)."""
    changed = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=actor[:255])
    alert.refresh_from_db()
    if changed:
        audit(alert.store, "alert_acknowledged", actor=actor, alert_id=alert.pk, alert_kind=alert.kind,
              message=alert.message[:500])
    return bool(changed)


def alert_resolve(store: Store, *, dedupe_key: str = "", kind: str = "") -> int:
    qs = Alert.objects.filter(store=store, resolved_at__isnull=True)
    if dedupe_key:
        qs = qs.filter(dedupe_key=dedupe_key)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.update(resolved_at=timezone.now())


# --- Retention ------------------------------------------------------------------------------------------------

INBOX_RETENTION_DAYS = 30
PRUNE_BATCH = 5000


def inbound_events_prune(*, now=None) -> int:
    """Delete stored webhooks that were handled (done or skipped) more than INBOX_RETENTION_DAYS ago; returns how
    many. Failed, pending and in-flight events are kept whatever their age (they are visible and replayable), and
    30 days is far past BigCommerce's redelivery window, so the (store, hash) duplicate guard loses nothing.
    Deletes in batches so that no statement holds locks for long on a big table."""
    days = int(getattr(settings, "INBOX_RETENTION_DAYS", INBOX_RETENTION_DAYS))
    cutoff = (now or timezone.now()) - timedelta(days=days)
    handled = InboundEvent.objects.filter(
        status__in=(InboundEvent.Status.DONE, InboundEvent.Status.SKIPPED), received_at__lt=cutoff)
    deleted = 0
    while ids := list(handled.values_list("pk", flat=True)[:PRUNE_BATCH]):
        deleted += InboundEvent.objects.filter(pk__in=ids).delete()[0]
    if deleted:
        logger.info("Retention: deleted %d handled webhooks received before %s", deleted, cutoff.isoformat())
    return deleted
