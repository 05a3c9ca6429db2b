"""Writes of the inbox: receive (verify + store + enqueue after commit), process (claim + dispatch to the
scope's handler + record the outcome), sweep and replay.

Handlers are registered by other apps (bigcommerce_app.registry) and receive the InboundEvent. They signal
outcomes other than "done" by raising EventSkipped / EventDeferred; a transient vendor failure (VendorError
with `transient`) retries the event with backoff; anything else fails it with the reason kept for the console.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bigcommerce_app import registry
from bigcommerce_app.inbox.relay import relay
from bigcommerce_app.models import InboundEvent, Store
from middleware.http import VendorError
from middleware.queueing import enqueue_or_mark_due

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Webhook-Token"
# A live task never loses its claim: the hard time limit kills it before the lease ends.
LEASE = timedelta(seconds=int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 180)) + 30)
# Backoff for transient failures (BigCommerce 5xx/429/timeouts while fetching the resource); then failed.
RETRY_DELAYS = (30, 120, 600, 1800, 3600, 3 * 3600)
MAX_PAYLOAD_BYTES = 256 * 1024


class WebhookRejected(Exception):
    """The request is not an acceptable webhook; nothing was stored."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class EventSkipped(Exception):  # noqa: N818 - an outcome, not an error
    """Raised by a handler: nothing to do for this event (e.g. an order this service placed itself)."""


class EventDeferred(Exception):  # noqa: N818 - an outcome, not an error
    """Raised by a handler: look again later (e.g. an order still awaiting payment)."""

    def __init__(self, reason: str, *, retry_in: float):
        super().__init__(reason)
        self.retry_in = retry_in


@dataclass(frozen=True)
class Receipt:
    event_id: int
    duplicate: bool


# --- Receive ------------------------------------------------------------------------------------------------

def webhook_receive(*, body: bytes, headers) -> Receipt:
    """Authenticate, validate and store one delivery; hand it to the relay (enqueue) once committed. No
    outbound call.

    Order of checks: the token header must be present (401), the body must be a JSON object naming a store
    (400), the store must be installed (401) and the token must be that store's (401, constant time), the
    event fields must be well formed (400), and Standard Webhooks headers, when present, must verify (401).
    """
    token = headers.get(TOKEN_HEADER) or ""
    if not token:
        raise WebhookRejected(401, f"missing {TOKEN_HEADER} header")
    if len(body) > MAX_PAYLOAD_BYTES:
        raise WebhookRejected(400, "payload too large")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected(400, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "body must be a JSON object")
    producer = payload.get("producer")
    if not isinstance(producer, str) or not producer.startswith("stores/") or len(producer) <= len("stores/"):
        raise WebhookRejected(400, "producer must be 'stores/{store_hash}'")
    store_hash = producer[len("stores/"):]
    auth = _store_auth(store_hash, token)
    if auth is None:
        raise WebhookRejected(401, "unknown store")
    if auth is False:
        raise WebhookRejected(401, f"wrong {TOKEN_HEADER}")
    scope, event_hash, data = payload.get("scope"), payload.get("hash"), payload.get("data")
    if not isinstance(scope, str) or not scope or len(scope) > 128:
        raise WebhookRejected(400, "scope is required")
    if not isinstance(event_hash, str) or not event_hash or len(event_hash) > 128:
        raise WebhookRejected(400, "hash is required")
    if data is not None and not isinstance(data, dict):
        raise WebhookRejected(400, "data must be an object")
    signature = _signature_check(body, headers)

    resource_id = str((data or {}).get("id", ""))[:64]
    created_at = payload.get("created_at")
    event_time = (datetime.fromtimestamp(created_at, tz=UTC)
                  if isinstance(created_at, int | float) and 0 < created_at < 4e9 else None)
    try:
        payload_text = body.decode()  # the body as received: valid JSON already, no re-serialisation
    except UnicodeDecodeError:  # a UTF-16/32 body json.loads accepted
        payload_text = json.dumps(payload)
    row = (scope, resource_id, event_hash, payload_text, (headers.get("webhook-id") or "")[:128], signature,
           event_time)
    try:
        event_id = _event_insert(auth.id, row)
    except IntegrityError:
        # The store row went away (deleted or re-created) while its auth facts were cached: ask again.
        _STORE_AUTH.pop(store_hash, None)
        auth = _store_auth(store_hash, token)
        if not auth:
            raise WebhookRejected(401, "unknown store") from None
        event_id = _event_insert(auth.id, row)
    if event_id is None:
        # BigCommerce sent this event before (same hash): acknowledge, store nothing new.
        existing = InboundEvent.objects.filter(store_id=auth.id, event_hash=event_hash).values_list("pk", flat=True)
        return Receipt(event_id=existing.first() or 0, duplicate=True)
    transaction.on_commit(lambda: relay.submit(event_id))  # at once in autocommit; after commit inside atomic
    return Receipt(event_id=event_id, duplicate=False)


# The store's auth facts (id + webhook token of an installed store), cached per process for a few seconds: the
# ORM SELECT plus the Fernet decryption of the token cost more CPU than the rest of the intake (issue 4 bench).
# Bound on staleness: only installed stores with a token are cached, for STORE_AUTH_TTL seconds, so after an
# uninstall (or a token change) made in another process the old token is still accepted for at most that long;
# the events stored meanwhile are skipped by inbound_event_process ("store uninstalled"). Saves and deletes of a
# Store in this process drop its entry at once (signals below); every rejection re-reads the database, so a new
# token or a fresh install is honoured immediately.
STORE_AUTH_TTL = 5.0  # seconds; setting INBOX_STORE_AUTH_TTL_SECONDS overrides
STORE_AUTH_MAX = 10_000  # distinct stores cached per process; past it the cache starts over


@dataclass(frozen=True)
class _StoreAuth:
    id: int
    token: bytes
    expires: float


_STORE_AUTH: dict[str, _StoreAuth] = {}
_EVENT_TABLE = InboundEvent._meta.db_table


def _store_auth(store_hash: str, token: str) -> _StoreAuth | None | bool:
    """The installed store's auth facts when `token` is its webhook token; None for an unknown, uninstalled or
    token-less store; False for a wrong token."""
    given = token.encode()
    cached = _STORE_AUTH.get(store_hash)
    if cached is not None and cached.expires > time.monotonic() and hmac.compare_digest(given, cached.token):
        return cached
    store = Store.objects.filter(store_hash=store_hash).only("id", "status", "webhook_token").first()
    if store is None or store.status == Store.Status.UNINSTALLED or not store.webhook_token:
        _STORE_AUTH.pop(store_hash, None)
        return None
    ttl = float(getattr(settings, "INBOX_STORE_AUTH_TTL_SECONDS", STORE_AUTH_TTL))
    auth = _StoreAuth(id=store.pk, token=store.webhook_token.encode(), expires=time.monotonic() + ttl)
    if len(_STORE_AUTH) >= STORE_AUTH_MAX:
        _STORE_AUTH.clear()
    _STORE_AUTH[store_hash] = auth
    if not hmac.compare_digest(given, auth.token):
        return False
    return auth


@receiver([post_save, post_delete], sender=Store, dispatch_uid="inbox_store_auth_forget")
def _store_auth_forget(sender, instance: Store, **kwargs) -> None:
    _STORE_AUTH.pop(instance.store_hash, None)


def _event_insert(store_id: int, row: tuple) -> int | None:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new event's id, or None for a duplicate (same
    store + hash). Autocommitted outside a transaction, so the row is durable before the 200; inside one it
    needs no savepoint (a conflict raises nothing). Raw SQL because the ORM's create + IntegrityError path
    costs several times the CPU of the statement itself on the hot path."""
    connection = transaction.get_connection()
    scope, resource_id, event_hash, payload_text, webhook_id, signature, event_time = row
    adapt = connection.ops.adapt_datetimefield_value
    payload_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    # Only the model's table name and a fixed cast are interpolated; every value is a parameter.
    sql = (
        f"INSERT INTO {_EVENT_TABLE} (store_id, scope, resource_id, event_hash, payload, webhook_id, signature, "  # noqa: S608
        "event_created_at, received_at, status, attempts, next_attempt_at, lease_until, processed_at, result) "
        f"VALUES (%s, %s, %s, %s, {payload_param}, %s, %s, %s, %s, %s, 0, NULL, NULL, NULL, '') "
        "ON CONFLICT (store_id, event_hash) DO NOTHING RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [store_id, scope, resource_id, event_hash, payload_text, webhook_id, signature,
                             adapt(event_time), adapt(timezone.now()), InboundEvent.Status.PENDING])
        found = cursor.fetchone()
    return found[0] if found else None


def _signature_check(body: bytes, headers) -> str:
    """Standard Webhooks (bigcommerce.md §3.6): verified when the headers are present, key = the app's client
    secret. A valid signature with a timestamp outside the library's 5-minute window is accepted and marked:
    BigCommerce's retries may keep the first timestamp (UNCONFIRMED), the token header already authenticates
    the sender, and a replay is harmless because events are deduplicated on their hash."""
    msg_id, timestamp, signature = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                                    headers.get("webhook-signature"))
    if not (msg_id or timestamp or signature):
        return InboundEvent.Signature.ABSENT
    if not (msg_id and timestamp and signature) or not settings.BIGCOMMERCE_CLIENT_SECRET:
        raise WebhookRejected(401, "incomplete webhook signature headers")
    hook = Webhook(base64.b64encode(settings.BIGCOMMERCE_CLIENT_SECRET.encode()).decode())
    try:
        hook.verify(body, {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature},
                    json_parse=False)
        return InboundEvent.Signature.VALID
    except WebhookVerificationError as exc:
        if "timestamp" not in str(exc).lower():
            raise WebhookRejected(401, "webhook signature does not verify") from None
    try:
        when = datetime.fromtimestamp(float(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookRejected(401, "invalid webhook-timestamp") from None
    expected = hook.sign(msg_id=msg_id, timestamp=when, data=body.decode()).split(",", 1)[1]
    for candidate in signature.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            logger.info("Webhook %s signed with a timestamp outside the 5-minute window", msg_id)
            return InboundEvent.Signature.VALID_STALE
    raise WebhookRejected(401, "webhook signature does not verify")


def inbound_event_enqueue(event_id: int) -> bool:
    """Hand the event to a worker. Never blocks or fails the caller when the broker is down: the row is
    marked due and the sweeper enqueues it once the broker is back."""
    from bigcommerce_app.inbox.tasks import inbound_event_process

    return enqueue_or_mark_due(
        inbound_event_process, event_id, what="inbound event",
        pending=InboundEvent.objects.filter(pk=event_id, status=InboundEvent.Status.PENDING,
                                            next_attempt_at__isnull=True))


# --- Process ------------------------------------------------------------------------------------------------

def _claimable(now) -> Q:
    pending = Q(status=InboundEvent.Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    abandoned = Q(status=InboundEvent.Status.PROCESSING, lease_until__lt=now)
    return pending | abandoned


def inbound_event_process(event_id: int) -> str:
    """Claim the event (one conditional UPDATE, so duplicates of the task cannot both run it), dispatch it to
    its scope's handler and record the outcome. Returns the resulting status."""
    now = timezone.now()
    claimed = InboundEvent.objects.filter(_claimable(now), pk=event_id).update(
        status=InboundEvent.Status.PROCESSING, lease_until=now + LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return "not-claimed"
    event = InboundEvent.objects.select_related("store").get(pk=event_id)
    handler = registry.handler_for(event.scope)
    if handler is None:
        return _finish(event, InboundEvent.Status.SKIPPED, f"no handler for {event.scope}")
    if event.store.status == Store.Status.UNINSTALLED:
        return _finish(event, InboundEvent.Status.SKIPPED, "store uninstalled")
    try:
        result = handler(event)
    except EventSkipped as exc:
        return _finish(event, InboundEvent.Status.SKIPPED, str(exc))
    except EventDeferred as exc:
        return _finish(event, InboundEvent.Status.PENDING, str(exc),
                       next_attempt_at=timezone.now() + timedelta(seconds=exc.retry_in))
    except (VendorError, SoftTimeLimitExceeded) as exc:
        transient = isinstance(exc, SoftTimeLimitExceeded) or exc.transient
        reason = str(exc) if isinstance(exc, VendorError) else "time limit exceeded"
        if transient and event.attempts <= len(RETRY_DELAYS):
            delay = RETRY_DELAYS[event.attempts - 1]
            retry_after = getattr(exc, "retry_after", None)
            if retry_after:
                delay = max(delay, float(retry_after))
            return _finish(event, InboundEvent.Status.PENDING, f"will retry: {reason}",
                           next_attempt_at=timezone.now() + timedelta(seconds=delay))
        return _finish(event, InboundEvent.Status.FAILED, reason)
    except Exception as exc:
        logger.exception("Handler for %s event %s failed", event.scope, event.pk)
        return _finish(event, InboundEvent.Status.FAILED, f"{exc.__class__.__name__}: {exc}")
    return _finish(event, InboundEvent.Status.DONE, str(result or ""))


CHUNK_BUDGET_SECONDS = 30  # a chunk task hands what is left back to the broker after this long


def inbound_events_process(event_ids: list[int]) -> int:
    """Process a chunk of events published together by the intake relay. A slow chunk (vendor timeouts) does
    not hold the rest hostage past CHUNK_BUDGET_SECONDS nor near the task time limit: the remaining ids go
    back to the broker one by one (or, broker down, are marked due for the sweeper). Returns how many ran."""
    started = time.monotonic()
    for done, event_id in enumerate(event_ids):
        if time.monotonic() - started > CHUNK_BUDGET_SECONDS:
            for rest in event_ids[done:]:
                inbound_event_enqueue(rest)
            return done
        inbound_event_process(event_id)
    return len(event_ids)


def _finish(event: InboundEvent, status: str, result: str, *, next_attempt_at=None) -> str:
    final = status in (InboundEvent.Status.DONE, InboundEvent.Status.SKIPPED, InboundEvent.Status.FAILED)
    InboundEvent.objects.filter(pk=event.pk).update(
        status=status, result=result[:2000], lease_until=None, next_attempt_at=next_attempt_at,
        processed_at=timezone.now() if final else None)
    if status == InboundEvent.Status.FAILED:
        logger.warning("Inbound event %s (%s) failed: %s", event.pk, event.scope, result)
    return status


# --- Sweep and replay ---------------------------------------------------------------------------------------

def inbound_events_sweep(*, stale_after: timedelta | None = None, limit: int = 500) -> int:
    """Re-enqueue events that are due: retried/deferred ones whose time came, ones the broker never got
    (marked due at intake), ones still pending `stale_after` after receipt (message lost), and ones whose
    worker died mid-processing (lease expired)."""
    now = timezone.now()
    stale_after = stale_after if stale_after is not None else timedelta(
        seconds=getattr(settings, "INBOX_STALE_AFTER_SECONDS", 60))
    due = (Q(status=InboundEvent.Status.PENDING, next_attempt_at__lte=now)
           | Q(status=InboundEvent.Status.PENDING, next_attempt_at__isnull=True, received_at__lte=now - stale_after)
           | Q(status=InboundEvent.Status.PROCESSING, lease_until__lt=now))
    ids = list(InboundEvent.objects.filter(due).order_by("received_at").values_list("pk", flat=True)[:limit])
    for event_id in ids:
        if not inbound_event_enqueue(event_id):
            break  # broker still down: try again next sweep
    return len(ids)


def inbound_event_replay(event: InboundEvent) -> InboundEvent:
    """Process a finished (failed, skipped or done) event again, from the console."""
    if event.status in (InboundEvent.Status.PENDING, InboundEvent.Status.PROCESSING):
        return event
    InboundEvent.objects.filter(pk=event.pk).update(status=InboundEvent.Status.PENDING, next_attempt_at=None,
                                                    lease_until=None, processed_at=None,
                                                    result="replay requested")
    transaction.on_commit(lambda: inbound_event_enqueue(event.pk))
    event.refresh_from_db()
    return event
