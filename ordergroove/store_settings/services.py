"""The write API of the Ordergroove settings: create the row at install, save a validated change."""

from __future__ import annotations

from bigcommerce_app.models import Store
from bigcommerce_app.store_settings import row_update
from ordergroove.models import OrdergrooveSettings
from ordergroove.store_settings.validation import OG_SECRETS, og_settings_clean


def og_settings_ensure(store: Store) -> None:
    """Every installed store has its row (registered with bigcommerce_app's install flow)."""
    OrdergrooveSettings.objects.get_or_create(store=store)


def og_settings_update(store: Store, data: dict) -> list[str]:
    """Validate (validation.og_settings_clean: ValidationError with every error, nothing changed) and save the
    given fields; returns the names of those that changed (secrets by name only; a null secret clears it)."""
    return row_update(OrdergrooveSettings, store, data, clean=og_settings_clean, secrets=OG_SECRETS)
