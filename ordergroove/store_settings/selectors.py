"""The read API of the Ordergroove and storefront settings. Treat the rows as read-only: changes go through
`services`."""

from __future__ import annotations

from bigcommerce_app.models import Store
from ordergroove.models import ENVIRONMENT_PRESETS, OrdergrooveSettings, StorefrontSettings

__all__ = ["ENVIRONMENT_PRESETS", "og_settings_for", "og_settings_for_merchant", "og_settings_get",
           "og_settings_with_webhook_key", "storefront_settings_get"]


def og_settings_for(store: Store) -> OrdergrooveSettings:
    """The store's row; created here for a store installed before rows were made at install."""
    return OrdergrooveSettings.objects.get_or_create(store=store)[0]


def og_settings_get(store: Store | int) -> OrdergrooveSettings | None:
    """The store's row (by store or store id), or None when it has none (a pure read)."""
    return OrdergrooveSettings.objects.filter(store=store).first()


def og_settings_for_merchant(merchant_id: str) -> list[OrdergrooveSettings]:
    """The rows, with their stores, of the installed stores (or awaiting re-authorization) configured with this
    Ordergroove merchant id and a hash key: several stores may share one merchant (staging and production)."""
    return list(OrdergrooveSettings.objects.select_related("store").filter(
        merchant_id=merchant_id, store__status__in=[Store.Status.INSTALLED, Store.Status.NEEDS_REAUTH],
    ).exclude(hash_key=""))


def og_settings_with_webhook_key(*, store_hash: str | None = None, merchant_id: str | None = None,
                                 limit: int | None = None) -> list[OrdergrooveSettings]:
    """The rows, with their stores, that hold an Ordergroove webhook verification key (stores not uninstalled),
    narrowed to one store hash or one merchant id when given; at most `limit`."""
    qs = OrdergrooveSettings.objects.select_related("store").exclude(webhook_verification_key="").exclude(
        store__status=Store.Status.UNINSTALLED)
    if store_hash:
        qs = qs.filter(store__store_hash=store_hash)
    if merchant_id:
        qs = qs.filter(merchant_id=merchant_id)
    return list(qs[:limit] if limit else qs)


def storefront_settings_get(store: Store) -> StorefrontSettings:
    """The store's storefront settings, or the defaults (unsaved) for a store that never changed them: a read,
    never a write."""
    return StorefrontSettings.objects.filter(store=store).first() or StorefrontSettings(store=store)
