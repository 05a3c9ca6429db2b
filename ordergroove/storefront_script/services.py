"""Writes of the Storefront tab: save the switches, then make BigCommerce match them at once."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from bigcommerce_app.models import Store
from bigcommerce_app.services import audit
from bigcommerce_app.storefront_content import storefront_content_reconcile
from ordergroove.models import StorefrontSettings

SWITCHES = ("og_auth_enabled", "payment_guard_enabled", "subscription_page_enabled", "checkout_guards_enabled")
TEXT_FIELDS = ("mode", "subscription_page_url", "subscription_page_title")


class StorefrontSettingsInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid storefront settings")
        self.errors = errors


def storefront_settings_update(store: Store, data: dict, *, actor: str = "") -> list[str]:
    """Validate and save the given fields (switches as booleans); returns what changed. A change reconciles
    the store's scripts and page with BigCommerce right away (DECISIONS §4.3)."""
    with transaction.atomic():
        row, _ = StorefrontSettings.objects.select_for_update().get_or_create(store=store)
        changed = []
        for name in (*SWITCHES, *TEXT_FIELDS):
            if name in data:
                value = bool(data[name]) if name in SWITCHES else str(data[name]).strip()
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed.append(name)
        try:
            row.full_clean(exclude=["store"])
        except ValidationError as exc:
            transaction.set_rollback(True)
            raise StorefrontSettingsInvalid({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from exc
        row.save()
        if changed:
            audit(store, "storefront_settings_updated", actor=actor, fields=sorted(changed))
    if changed:
        storefront_content_reconcile(store)
    return changed


def storefront_reconcile_now(store: Store, *, actor: str = "") -> dict[str, str]:
    done = storefront_content_reconcile(store)
    audit(store, "storefront_reconciled", actor=actor, result=done)
    return done
