"""The inbox's intake, the hot path of `POST /webhooks/bigcommerce`: authenticate, validate and store one delivery
(group commit), then hand the new event to the relay. No outbound call, no broker round trip on the request.

What happens to a stored event afterwards (process, sweep, replay) is services.py.
"""

from __future__ import annotations

import functools
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, DataError, IntegrityError, connections, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from bigcommerce_app.inbox import checks
from bigcommerce_app.inbox.checks import WebhookRejected
from bigcommerce_app.inbox.relay import relay
from bigcommerce_app.models import InboundEvent, Store
from middleware.plumbing.group_commit import GroupCommit

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Webhook-Token"


class EventNotStored(Exception):
    """The database could not take the event: nothing was acknowledged, the view answers 503 and BigCommerce
    delivers it again."""


@dataclass(frozen=True)
class Receipt:
    event_id: int | None  # None for a duplicate of an event stored earlier
    duplicate: bool


def webhook_receive(*, body: bytes, headers) -> Receipt:
    """Authenticate, validate and store one delivery; hand it to the relay (enqueue) once committed. No
    outbound call.

    Order of checks: the token header must be present (401), the body must be a bounded UTF-8 JSON object that
    PostgreSQL can store and that names a store (400, checks.body_parse), the store must be installed (401) and
    the token must be that store's (401, constant time), the event fields must be well formed (400), and
    Standard Webhooks headers, when present, must verify (401).
    """
    token = headers.get(TOKEN_HEADER) or ""
    if not token:
        raise WebhookRejected(401, f"missing {TOKEN_HEADER} header")
    payload, text, payload_text = checks.body_parse(body)
    store_hash = checks.store_hash_of(payload.get("producer"))
    if store_hash is None:
        raise WebhookRejected(400, "producer must be 'stores/{store_hash}'")
    auth = _store_auth(store_hash, token)
    if auth is None:
        raise WebhookRejected(401, "unknown store")
    if auth is False:
        raise WebhookRejected(401, f"wrong {TOKEN_HEADER}")
    scope, event_hash, data = payload.get("scope"), payload.get("hash"), payload.get("data")
    if not checks.text_field(scope, 128):
        raise WebhookRejected(400, "scope is required")
    if not checks.text_field(event_hash, 128):
        raise WebhookRejected(400, "hash is required")
    if data is not None and not isinstance(data, dict):
        raise WebhookRejected(400, "data must be an object")
    signature = checks.signature_check(text, headers)

    resource_id = str((data or {}).get("id", ""))[:64]
    created_at = payload.get("created_at")
    event_time = (datetime.fromtimestamp(created_at, tz=UTC)
                  if isinstance(created_at, int | float) and 0 < created_at < 4e9 else None)
    webhook_id = (headers.get("webhook-id") or "")[:128].replace("\x00", "\ufffd")  # no NUL in a text column
    row = (scope, resource_id, event_hash, payload_text, webhook_id, signature, event_time)
    try:
        event_id = _event_store(auth.id, row)
    except IntegrityError:
        # The store row went away (deleted or re-created) while its auth facts were cached: ask again.
        _STORE_AUTH.pop(store_hash, None)
        auth = _store_auth(store_hash, token)
        if not auth:
            raise WebhookRejected(401, "unknown store") from None
        event_id = _event_store(auth.id, row)
    # None: BigCommerce sent this event before (same hash): acknowledge, nothing new stored.
    return Receipt(event_id=event_id, duplicate=event_id is None)


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


# Writing the event: one statement for every request thread of the process that is writing at the same moment
# (middleware.plumbing.group_commit), because the per-statement cost (psycopg, the server's parse/plan, the commit and
# its WAL flush) was most of the intake's CPU and latency (bench/webhooks.py). The guarantees do not change:
# the statement runs in autocommit, so a request is answered only once its row is committed; a duplicate
# (same store + hash) inserts nothing and is acknowledged; a batch that fails is a 503 for exactly its requests
# and, being one statement, leaves nothing half-written.
_EVENT_COLUMNS = ("store_id, scope, resource_id, event_hash, payload, webhook_id, signature, event_created_at, "
                  "received_at, status, attempts, next_attempt_at, lease_until, processed_at, result")
EventRow = tuple  # (store_id, scope, resource_id, event_hash, payload_text, webhook_id, signature, event_time)


def _event_store(store_id: int, row: tuple) -> int | None:
    """Store one event: its new id, or None for a duplicate. Hands the new event to the relay once committed.
    Inside a transaction the caller's own connection writes it (the relay is told on commit); in autocommit
    (every webhook request) it joins the process's group commit."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        try:
            with transaction.atomic():  # a savepoint: a refused row must not break the caller's transaction
                inserted = _events_insert(connection, [(store_id, *row)])
        except DataError:
            raise WebhookRejected(400, "the event holds data the database cannot store") from None
        event_id = next(iter(inserted.values()), None)
        if event_id is not None:
            transaction.on_commit(lambda: relay.submit([event_id]))
        return event_id
    return _EVENT_WRITER.submit((store_id, *row))


def _events_insert(connection, rows: list[EventRow]) -> dict[tuple[int, str], int]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING for `rows` (distinct store + hash): the new events' ids
    by (store_id, event_hash); a row that duplicates an earlier event inserts nothing and is absent. Raw SQL
    because the ORM has no multi-row insert that reports which rows a conflict skipped."""
    adapt = connection.ops.adapt_datetimefield_value
    received_at = adapt(timezone.now())
    params: list = []
    for store_id, scope, resource_id, event_hash, payload_text, webhook_id, signature, event_time in rows:
        params += [store_id, scope, resource_id, event_hash, payload_text, webhook_id, signature, adapt(event_time),
                   received_at]
    if connection.vendor == "postgresql":
        # psycopg's raw cursor with PostgreSQL's own $n placeholders: Django's cursor binds client-side (every
        # value quoted into the SQL text in Python), and psycopg re-parses a long multi-row statement written
        # with %s on every call; together they cost five times the statement's CPU per row (bench/webhooks.py).
        # Django's error wrapping is kept. `prepare=True` takes effect only where the database OPTIONS set
        # psycopg's prepare_threshold: Django leaves it None so that PgBouncer (transaction mode) works, and
        # preparing measured no gain here (the server's parse/plan is a small part of the insert).
        connection.close_if_health_check_failed()  # what Django's cursor() does first (CONN_HEALTH_CHECKS)
        connection.ensure_connection()
        with connection.wrap_database_errors, psycopg.RawCursor(connection.connection) as cursor:
            cursor.execute(_events_insert_sql("postgresql", len(rows)), params, prepare=True)
            found = cursor.fetchall()
    else:
        with connection.cursor() as cursor:
            cursor.execute(_events_insert_sql(connection.vendor, len(rows)), params)
            found = cursor.fetchall()
    return {(store_id, event_hash): pk for pk, store_id, event_hash in found}


@functools.lru_cache(maxsize=256)
def _events_insert_sql(vendor: str, count: int) -> str:
    postgres = vendor == "postgresql"
    rows = []
    for index in range(count):
        marks = [f"${9 * index + n}" if postgres else "%s" for n in range(1, 10)]
        if postgres:
            marks[4] += "::jsonb"
        rows.append(f"({', '.join(marks)}, '{InboundEvent.Status.PENDING.value}', 0, NULL, NULL, NULL, '')")
    # Only the model's table and column names and fixed literals are interpolated; values are parameters.
    return (f"INSERT INTO {_EVENT_TABLE} ({_EVENT_COLUMNS}) VALUES {', '.join(rows)} "  # noqa: S608
            "ON CONFLICT (store_id, event_hash) DO NOTHING RETURNING id, store_id, event_hash")


def _events_flush(rows: list[EventRow]) -> list[int | None | Exception]:
    """Group-commit flush (runs in the leading request's thread, autocommit): the outcome per row, in order:
    the new id (the first request carrying it), None (a duplicate: acknowledged, nothing new), IntegrityError
    (the store row went away: that request checks its store again), WebhookRejected (400: the database refuses
    this row's data) or EventNotStored (503)."""
    connection = connections[DEFAULT_DB_ALIAS]
    distinct: dict[tuple[int, str], EventRow] = {}
    for row in rows:
        distinct.setdefault((row[0], row[3]), row)
    failed: dict[tuple[int, str], DatabaseError] = {}
    try:
        inserted = _events_insert(connection, list(distinct.values()))
    except (IntegrityError, DataError):
        # One row's own content or store fails the whole statement: a store deleted while its auth facts were
        # cached (foreign key), or data the database refuses that the intake's checks did not foresee. Write row
        # by row so that only the requests of that row see the error (each statement is atomic: nothing of the
        # failed one was written).
        inserted = {}
        for key, row in distinct.items():
            try:
                inserted.update(_events_insert(connection, [row]))
            except DatabaseError as exc:
                if not isinstance(exc, IntegrityError):
                    logger.warning("Inbox could not store a webhook event: %s", exc.__class__.__name__)
                failed[key] = exc
    except DatabaseError as exc:
        logger.warning("Inbox could not store %d webhook event(s): %s", len(rows), exc.__class__.__name__)
        return [_not_stored(exc) for _ in rows]
    relay.submit(sorted(inserted.values()))
    outcomes: list[int | None | Exception] = []
    for row in rows:
        key = (row[0], row[3])
        if key in failed:  # each request raises its own exception instance
            outcomes.append(_row_failure(failed[key]))
        else:
            outcomes.append(inserted.pop(key, None))  # a second request with the same hash is a duplicate
    return outcomes


def _row_failure(cause: DatabaseError) -> Exception:
    if isinstance(cause, IntegrityError):
        return IntegrityError(*cause.args)
    if isinstance(cause, DataError):  # decided by the row's content: a retry would fail the same way
        return WebhookRejected(400, "the event holds data the database cannot store")
    return _not_stored(cause)


def _not_stored(cause: DatabaseError) -> EventNotStored:
    error = EventNotStored(f"event not stored ({cause.__class__.__name__})")
    error.__cause__ = cause
    return error


_EVENT_WRITER: GroupCommit[EventRow, int | None] = GroupCommit(_events_flush, max_batch=100, name="inbox intake")
