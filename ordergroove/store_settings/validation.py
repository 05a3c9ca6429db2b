"""The rules of the Ordergroove settings: each field on its own (`FIELD_RULES`) and across fields
(`cross_field_clean`), checked against the values the store would have after the change, so a partial update
cannot leave the store in a state the rest of the service cannot use.

Errors are Django's `ValidationError`: a message for one field, a `{field: [messages]}` dict for a change.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models

from bigcommerce_app.store_settings import fields_clean
from middleware.plumbing.outbound import OutboundRefused, outbound_url_check
from ordergroove.models import OrdergrooveSettings

OG_SECRETS = ("hash_key", "api_key", "webhook_verification_key", "gateway_api_key")
ENDPOINT_FIELDS = ("api_url", "legacy_api_url", "subscription_api_url", "static_domain")
OG_FIELDS = ("merchant_id", "environment", *ENDPOINT_FIELDS, "subscriptions_owned_by", "incentive_groups_enabled",
             "global_offer_id", "free_shipping_enabled", "free_shipping_coupon", "delete_coupons_after_use",
             "payment_data_source", "gateway_base_url", *OG_SECRETS)

_LOOPBACK = {"localhost"}
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_clean(value: str) -> str:
    """An Ordergroove or gateway base URL: https (http only for a loopback fake), no query or fragment."""
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError("Enter a full URL such as https://restapi.ordergroove.com.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValidationError("Use https:// — Ordergroove endpoints only accept HTTPS.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError("Enter the base URL only, without credentials, ?query or #fragment.")
    try:  # https and a public address in production; checked again at connect time, after DNS resolution
        outbound_url_check(value)
    except OutboundRefused as exc:
        raise ValidationError(str(exc)) from exc
    return value.rstrip("/")


def _identifier(message: str) -> Callable[[str], str]:
    def clean(value: str) -> str:
        value = value.strip()
        if value and not _IDENTIFIER.match(value):
            raise ValidationError(message)
        return value
    return clean


def _printable_secret(label: str) -> Callable[[str | None], str | None]:
    """A pasted key: no spaces or line breaks. None (clear the secret) passes."""
    def clean(value: str | None) -> str | None:
        if value is not None and (any(ch.isspace() for ch in value) or not value.isprintable()):
            raise ValidationError(f"The {label} cannot contain spaces or line breaks: paste it again.")
        return value
    return clean


def _hash_key(value: str | None) -> str | None:
    if value is None:
        return None
    _printable_secret("hash key")(value)
    if len(value.encode()) != 32:
        raise ValidationError(
            f"The hash key must be exactly 32 characters (it is {len(value)}): Ordergroove's AES-256 uses it as "
            "the key.")
    return value


def _choice(choices: type[models.TextChoices]) -> Callable[[str], str]:
    def clean(value: str) -> str:
        if value not in choices.values:
            raise ValidationError(f'"{value}" is not a valid choice.')
        return value
    return clean


# Field name -> rule (the value cleaned, or ValidationError). A field without a rule is taken as given.
FIELD_RULES: dict[str, Callable[[Any], Any]] = {
    "merchant_id": _identifier("Letters, digits, '-', '_' and '.' only (as Ordergroove gave it)."),
    "hash_key": _hash_key,
    "environment": _choice(OrdergrooveSettings.Environment),
    "subscriptions_owned_by": _choice(OrdergrooveSettings.Owner),
    "payment_data_source": _choice(OrdergrooveSettings.PaymentSource),
    "api_key": _printable_secret("API key"),
    "webhook_verification_key": _printable_secret("webhook verification key"),
    "gateway_api_key": _printable_secret("gateway API key"),
    **{name: endpoint_clean for name in (*ENDPOINT_FIELDS, "gateway_base_url")},
    "global_offer_id": _identifier("Letters, digits, '-', '_' and '.' only."),
    "free_shipping_coupon": lambda value: value.strip(),
}


def cross_field_errors(row: OrdergrooveSettings, attrs: dict) -> dict[str, list[str]]:
    """Rules across fields, on the values after the change (`attrs` over the saved `row`)."""
    def after(name: str) -> Any:
        return attrs[name] if name in attrs else getattr(row, name)

    errors: dict[str, list[str]] = {}
    if after("incentive_groups_enabled") and not after("global_offer_id"):
        errors.setdefault("global_offer_id", []).append(
            "Incentive Groups need the Global Offer ID from your Ordergroove representative.")
    if after("free_shipping_enabled") and not after("free_shipping_coupon"):
        errors.setdefault("free_shipping_coupon", []).append(
            "Enter the name of the free-shipping coupon you created in BigCommerce.")
    if after("payment_data_source") == OrdergrooveSettings.PaymentSource.GATEWAY:
        if not after("gateway_base_url"):
            errors.setdefault("gateway_base_url", []).append("The payment gateway's API URL is required.")
        if not after("gateway_api_key"):
            errors.setdefault("gateway_api_key", []).append("The payment gateway's API key is required.")
    return errors


def og_settings_clean(row: OrdergrooveSettings, data: dict) -> dict:
    """The change cleaned: every field rule, then (when they pass) the cross-field rules. Raises
    ValidationError({field: [messages]}) with every error. Fields that are not Ordergroove settings are refused."""
    attrs = fields_clean(data, FIELD_RULES, known=OG_FIELDS, unknown="Not an Ordergroove setting.")
    errors = cross_field_errors(row, attrs)
    if errors:
        raise ValidationError(errors)
    return attrs
