"""Reads about stores: what the console shell shows."""

from __future__ import annotations

from bigcommerce_app.models import Alert, AuditEvent, Store, WebhookSubscription


def store_get(store_hash: str) -> Store | None:
    return Store.objects.filter(store_hash=store_hash).first()


def store_overview(store: Store) -> dict:
    hooks = list(WebhookSubscription.objects.filter(store=store))
    return {
        "store": store,
        "webhooks": hooks,
        "webhooks_ok": bool(hooks) and all(h.is_active for h in hooks),
        "users": list(store.users.order_by("-last_load_at")),
        "audit": list(AuditEvent.objects.filter(store=store)[:20]),
    }


def alerts_open(store: Store) -> list[Alert]:
    return list(Alert.objects.filter(store=store, resolved_at__isnull=True)[:20])


def alerts_unacknowledged(store: Store) -> list[Alert]:
    """What the console shows as banners: open alerts nobody acknowledged."""
    return list(Alert.objects.filter(store=store, resolved_at__isnull=True, acknowledged_at__isnull=True)[:20])


def alert_get(store: Store, alert_id: int) -> Alert | None:
    return Alert.objects.filter(store=store, pk=alert_id).first()
