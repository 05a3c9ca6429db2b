"""The write API of the Ordergroove and storefront settings: create the row at install, save a validated change."""

from __future__ import annotations

from django.db import transaction

from bigcommerce_app.models import Store
from bigcommerce_app.store_settings import row_update
from ordergroove.models import OrdergrooveSettings, StorefrontSettings
from ordergroove.store_settings.validation import OG_SECRETS, og_settings_clean


def og_settings_ensure(store: Store) -> None:
    """Every installed store has its row (registered with bigcommerce_app's install flow)."""
    OrdergrooveSettings.objects.get_or_create(store=store)


def og_settings_update(store: Store, data: dict) -> list[str]:
    """Validate (validation.og_settings_clean: ValidationError with every error, nothing changed) and save the
    given fields; returns the names of those that changed (secrets by name only; a null secret clears it)."""
    return row_update(OrdergrooveSettings, store, data, clean=og_settings_clean, secrets=OG_SECRETS)


STOREFRONT_SWITCHES = ("og_auth_enabled", "payment_guard_enabled", "subscription_page_enabled",
                       "checkout_guards_enabled")
STOREFRONT_TEXT_FIELDS = ("mode", "subscription_page_url", "subscription_page_title")


def storefront_settings_update(store: Store, data: dict) -> list[str]:
    """Validate (the model's own validators: ValidationError({field: [messages]}), nothing changed) and save the
    given fields (switches as booleans); returns what changed."""
    with transaction.atomic():
        row, _ = StorefrontSettings.objects.select_for_update().get_or_create(store=store)
        changed = []
        for name in (*STOREFRONT_SWITCHES, *STOREFRONT_TEXT_FIELDS):
            if name in data:
                value = bool(data[name]) if name in STOREFRONT_SWITCHES else str(data[name]).strip()
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed.append(name)
        row.full_clean(exclude=["store"])
        row.save()
    return changed
