"""Writes of the settings console: save the store's settings through their two owners (the Ordergroove and the
feed settings, all or nothing) and run the two "Check connection" probes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from bigcommerce_app.console.settings.selectors import settings_rows
from bigcommerce_app.console.settings.serializers import SettingsSerializer
from bigcommerce_app.models import Store
from bigcommerce_app.services import audit, webhooks_register
from bigcommerce_app.storefront_content import storefront_content_reconcile
from feeds.sftp import sftp_check
from feeds.store_settings.services import feed_settings_update
from feeds.store_settings.validation import FEED_FIELDS
from ordergroove.client import OrdergrooveClient
from ordergroove.models import OrdergrooveSettings
from ordergroove.store_settings.selectors import ENVIRONMENT_PRESETS
from ordergroove.store_settings.services import og_settings_update
from ordergroove.store_settings.validation import ENDPOINT_FIELDS, OG_FIELDS

logger = logging.getLogger(__name__)

PRESET_FIELDS = (*ENDPOINT_FIELDS, "sftp_host")
# What a good "Check Ordergroove connection" proves, and what it cannot (CheckResult.detail, for automation).
OG_PROVEN = ["credentials accepted", "merchant found", "API endpoint reachable"]
OG_NOT_PROVEN = ["application API key", "webhook verification key", "legacy and subscription endpoints"]
# Settings the registered storefront script tag depends on.
STOREFRONT_FIELDS = frozenset({"merchant_id", "static_domain", "subscriptions_owned_by"})


class SettingsInvalid(Exception):
    """Field-level errors ({field: [messages]}); nothing was changed."""

    def __init__(self, errors: dict):
        super().__init__("invalid settings")
        self.errors = {key: [str(m) for m in (value if isinstance(value, list) else [value])]
                       for key, value in errors.items()}


def _apply_presets(attrs: dict, og_settings: OrdergrooveSettings, *, replace_old_presets: bool) -> None:
    """A new environment fills every endpoint the caller did not set. From the HTML form (which always posts
    every field) an endpoint still equal to the old environment's preset counts as "not set"."""
    new_env = attrs.get("environment")
    if not new_env or new_env == og_settings.environment:
        return
    old, new = ENVIRONMENT_PRESETS[og_settings.environment], ENVIRONMENT_PRESETS[new_env]
    for name in PRESET_FIELDS:
        if name not in attrs or (replace_old_presets and attrs[name] in (old[name], "")):
            attrs[name] = new[name]


def settings_update(store: Store, data: dict, *, actor: str = "", from_form: bool = False) -> list[str]:
    """Validate and save; returns the names of the fields that changed (secrets by name only). Raises
    SettingsInvalid with every field error and changes nothing. The form's shapes and the owners' rules answer
    the errors; each owner then saves its own row (validating again), both in one transaction."""
    og_settings, feed_settings = settings_rows(store)
    serializer = SettingsSerializer(data=data, partial=True, og_settings=og_settings, feed_settings=feed_settings)
    if not serializer.is_valid():
        raise SettingsInvalid(serializer.errors)
    attrs = dict(serializer.validated_data)
    _apply_presets(attrs, og_settings, replace_old_presets=from_form)
    try:
        with transaction.atomic():
            saved = {*og_settings_update(store, {k: v for k, v in attrs.items() if k in OG_FIELDS}),
                     *feed_settings_update(store, {k: v for k, v in attrs.items() if k in FEED_FIELDS})}
            changed = [name for name in attrs if name in saved]
            if changed:
                audit(store, "settings_updated", actor=actor, fields=sorted(changed))
    except ValidationError as exc:
        raise SettingsInvalid(exc.message_dict) from exc
    if "incremental_updates_enabled" in changed:
        webhooks_register(store)  # (un)subscribe the product and SKU hooks now, not at the next load
    if STOREFRONT_FIELDS.intersection(changed):
        storefront_content_reconcile(store)  # the storefront script's tag carries these values (issue 13)
    return changed


@dataclass
class CheckResult:
    ok: bool
    message: str
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "message": self.message, "detail": self.detail}


def ordergroove_check(store: Store, *, actor: str = "") -> CheckResult:
    """A signed read call with the saved settings (ordergroove.client.OrdergrooveClient.check_connection)."""
    og_settings, _ = settings_rows(store)
    missing = [label for label, value in (("merchant ID", og_settings.merchant_id),
                                          ("hash key", og_settings.hash_key),
                                          ("API endpoint", og_settings.api_url)) if not value]
    if missing:
        result = CheckResult(False, f"Not checked: save the {', '.join(missing)} first.")
    else:
        response = OrdergrooveClient(og_settings).check_connection()
        detail = {"status": response.status, "duration_ms": response.duration_ms, "endpoint": og_settings.api_url}
        if response.ok:
            # The probe asks for a customer id no store has: a 404 (or 200) means Ordergroove verified the signature
            # against this merchant's hash key, i.e. the merchant exists there and the key is right.
            result = CheckResult(True, f"Working: Ordergroove accepted the credentials — merchant "
                                       f"{og_settings.merchant_id} was found at {og_settings.api_url} and the hash "
                                       f"key signs correctly. Not checked by this test: the application API key, "
                                       f"the webhook verification key and the other endpoints (they are used when "
                                       f"orders and events flow; see Activity).",
                                 {**detail, "proven": OG_PROVEN, "not_proven": OG_NOT_PROVEN})
        else:
            reason = response.error or f"Ordergroove answered HTTP {response.status}"
            result = CheckResult(False, f"Failed: {reason}", detail)
    audit(store, "connection_checked", actor=actor, target="ordergroove", ok=result.ok, message=result.message)
    return result


def sftp_connection_check(store: Store, *, actor: str = "") -> CheckResult:
    """Connect, authenticate, verify the pinned host key and list /incoming (feeds.sftp.sftp_check)."""
    _, feed_settings = settings_rows(store)
    outcome = sftp_check(feed_settings)
    detail = outcome.as_dict()
    detail.pop("ok", None)
    detail.pop("message", None)
    if outcome.ok:
        files = len(outcome.listing)
        message = (f"Working: logged in to {feed_settings.sftp_host} as {feed_settings.sftp_username}, the server's "
                   f"key matches the pinned one, and /incoming lists {files} file{'s' if files != 1 else ''}. Not "
                   f"checked by this test: writing a file (the first feed run does that).")
    else:
        message = f"Failed: {outcome.message}"
    result = CheckResult(outcome.ok, message, detail)
    audit(store, "connection_checked", actor=actor, target="sftp", ok=result.ok, message=result.message)
    return result
