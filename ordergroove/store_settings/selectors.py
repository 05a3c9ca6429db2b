"""The read API of the Ordergroove and storefront settings. Treat the rows as read-only: changes go through
`services`."""

from __future__ import annotations

from bigcommerce_app.models import Store
from ordergroove.models import ENVIRONMENT_PRESETS, OrdergrooveSettings, StorefrontSettings

__all__ = ["ENVIRONMENT_PRESETS", "og_settings_for", "og_settings_get", "storefront_settings_get"]


def og_settings_for(store: Store) -> OrdergrooveSettings:
    """The store's row; created here for a store installed before rows were made at install."""
    return OrdergrooveSettings.objects.get_or_create(store=store)[0]


def og_settings_get(store: Store) -> OrdergrooveSettings | None:
    """The store's row, or None when it has none (a pure read)."""
    return OrdergrooveSettings.objects.filter(store=store).first()


def storefront_settings_get(store: Store) -> StorefrontSettings:
    """The store's storefront settings, or the defaults (unsaved) for a store that never changed them: a read,
    never a write."""
    return StorefrontSettings.objects.filter(store=store).first() or StorefrontSettings(store=store)
