"""Writes of the Storefront tab: save the switches through their owner, then make BigCommerce match them at once."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from bigcommerce_app.models import Store
from bigcommerce_app.services import audit
from bigcommerce_app.storefront_content import storefront_content_reconcile
from ordergroove.store_settings import services as owner

SWITCHES = owner.STOREFRONT_SWITCHES
TEXT_FIELDS = owner.STOREFRONT_TEXT_FIELDS


class StorefrontSettingsInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid storefront settings")
        self.errors = errors


def storefront_settings_update(store: Store, data: dict, *, actor: str = "") -> list[str]:
    """Validate and save the given fields (switches as booleans; ordergroove.store_settings); returns what
    changed. A change reconciles the store's scripts and page with BigCommerce right away (DECISIONS §4.3)."""
    with transaction.atomic():
        try:
            changed = owner.storefront_settings_update(store, data)
        except ValidationError as exc:
            raise StorefrontSettingsInvalid({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from exc
        if changed:
            audit(store, "storefront_settings_updated", actor=actor, fields=sorted(changed))
    if changed:
        storefront_content_reconcile(store)
    return changed


def storefront_reconcile_now(store: Store, *, actor: str = "") -> dict[str, str]:
    done = storefront_content_reconcile(store)
    audit(store, "storefront_reconciled", actor=actor, result=done)
    return done
