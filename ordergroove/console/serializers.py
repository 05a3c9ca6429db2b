"""The store's settings as one flat JSON object (`/console/api/settings`) and the same validation for the HTML
form. Secrets are write-only: the read shape carries `<name>_hint` ("set (…last4)" at most), never the value.

Validation answers field-level errors; cross-field rules (incentive groups need a Global Offer ID, ...) are
checked against the values the store would have after the change, so a partial update cannot leave the store
in a state the rest of the service cannot use.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from rest_framework import serializers

from feeds import cron
from feeds.models import FeedSettings
from feeds.sftp import SftpConfigError, host_key_line, host_key_parse, private_key_parse
from middleware.plumbing.outbound import OutboundRefused, outbound_host_check, outbound_url_check
from ordergroove.models import OrdergrooveSettings

OG_SECRETS = ("hash_key", "api_key", "webhook_verification_key", "gateway_api_key")
FEED_SECRETS = ("sftp_password", "sftp_private_key")
SECRET_FIELDS = OG_SECRETS + FEED_SECRETS
ENDPOINT_FIELDS = ("api_url", "legacy_api_url", "subscription_api_url", "static_domain")
OG_FIELDS = ("merchant_id", "environment", *ENDPOINT_FIELDS, "subscriptions_owned_by", "incentive_groups_enabled",
             "global_offer_id", "free_shipping_enabled", "free_shipping_coupon", "delete_coupons_after_use",
             "payment_data_source", "gateway_base_url", *OG_SECRETS)
FEED_FIELDS = ("sftp_host", "sftp_port", "sftp_username", "sftp_host_key", *cron.FIELDS,
               "incremental_updates_enabled", *FEED_SECRETS)

_LOOPBACK = {"localhost"}
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*$")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_endpoint(value: str) -> str:
    """An Ordergroove or gateway base URL: https (http only for a loopback fake), no query or fragment."""
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise serializers.ValidationError("Enter a full URL such as https://restapi.ordergroove.com.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise serializers.ValidationError("Use https:// — Ordergroove endpoints only accept HTTPS.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise serializers.ValidationError("Enter the base URL only, without credentials, ?query or #fragment.")
    try:  # https and a public address in production; checked again at connect time, after DNS resolution
        outbound_url_check(value)
    except OutboundRefused as exc:
        raise serializers.ValidationError(str(exc)) from exc
    return value.rstrip("/")


def _printable_secret(value: str, label: str) -> str:
    if any(ch.isspace() for ch in value) or not value.isprintable():
        raise serializers.ValidationError(f"The {label} cannot contain spaces or line breaks: paste it again.")
    return value


class SecretField(serializers.CharField):
    """Write-only; null clears the secret, an absent field leaves it unchanged."""

    def __init__(self, **kwargs):
        super().__init__(write_only=True, required=False, allow_null=True, allow_blank=False, trim_whitespace=True,
                         **kwargs)


class SettingsSerializer(serializers.Serializer):
    # Ordergroove (seed 002 "App Configurations") ----------------------------------------------------------
    merchant_id = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                        help_text="Ordergroove merchant (public) ID.")
    hash_key = SecretField(max_length=64, help_text="Merchant hash key (32 characters; signs requests, AES key).")
    api_key = SecretField(max_length=255, help_text="Ordergroove application API key.")
    environment = serializers.ChoiceField(choices=OrdergrooveSettings.Environment.choices, required=False,
                                          help_text="Changing it fills every endpoint not given in the same request "
                                                    "from the environment's preset.")
    api_url = serializers.CharField(required=False, allow_blank=True, max_length=200)
    legacy_api_url = serializers.CharField(required=False, allow_blank=True, max_length=200)
    subscription_api_url = serializers.CharField(required=False, allow_blank=True, max_length=200)
    static_domain = serializers.CharField(required=False, allow_blank=True, max_length=200)
    subscriptions_owned_by = serializers.ChoiceField(choices=OrdergrooveSettings.Owner.choices, required=False)
    incentive_groups_enabled = serializers.BooleanField(required=False)
    global_offer_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    free_shipping_enabled = serializers.BooleanField(required=False)
    free_shipping_coupon = serializers.CharField(required=False, allow_blank=True, max_length=255)
    delete_coupons_after_use = serializers.BooleanField(required=False)
    webhook_verification_key = SecretField(max_length=255)
    payment_data_source = serializers.ChoiceField(choices=OrdergrooveSettings.PaymentSource.choices, required=False)
    gateway_base_url = serializers.CharField(required=False, allow_blank=True, max_length=200)
    gateway_api_key = SecretField(max_length=255)
    # SFTP drop-off and product feed schedule ---------------------------------------------------------------
    sftp_host = serializers.CharField(required=False, allow_blank=True, max_length=255)
    sftp_port = serializers.IntegerField(required=False, min_value=1, max_value=65535)
    sftp_username = serializers.CharField(required=False, allow_blank=True, max_length=255)
    sftp_password = SecretField(max_length=255)
    sftp_private_key = SecretField(max_length=20000, help_text="OpenSSH or PEM private key without a passphrase.")
    sftp_host_key = serializers.CharField(required=False, allow_blank=True, max_length=4000,
                                          help_text='Pinned server key, "ssh-ed25519 AAAA..." (OpenSSH form).')
    cron_minute = serializers.CharField(required=False, max_length=64)
    cron_hour = serializers.CharField(required=False, max_length=64)
    cron_day_of_month = serializers.CharField(required=False, max_length=64)
    cron_month = serializers.CharField(required=False, max_length=64)
    cron_day_of_week = serializers.CharField(required=False, max_length=64)
    incremental_updates_enabled = serializers.BooleanField(required=False)

    def __init__(self, *args, og_settings: OrdergrooveSettings | None = None,
                 feed_settings: FeedSettings | None = None, **kwargs):
        # Both rows are required to validate; the schema generator instantiates the class bare.
        super().__init__(*args, **kwargs)
        self.og_settings = og_settings
        self.feed_settings = feed_settings

    # Field rules -------------------------------------------------------------------------------------------
    def validate_merchant_id(self, value: str) -> str:
        value = value.strip()
        if value and not _IDENTIFIER.match(value):
            raise serializers.ValidationError("Letters, digits, '-', '_' and '.' only (as Ordergroove gave it).")
        return value

    def validate_hash_key(self, value: str | None) -> str | None:
        if value is None:
            return None
        _printable_secret(value, "hash key")
        if len(value.encode()) != 32:
            raise serializers.ValidationError(
                f"The hash key must be exactly 32 characters (it is {len(value)}): Ordergroove's AES-256 uses it as "
                "the key.")
        return value

    def validate_api_key(self, value):
        return None if value is None else _printable_secret(value, "API key")

    def validate_webhook_verification_key(self, value):
        return None if value is None else _printable_secret(value, "webhook verification key")

    def validate_gateway_api_key(self, value):
        return None if value is None else _printable_secret(value, "gateway API key")

    def validate_sftp_password(self, value):
        return value  # any characters are valid in a password

    def validate_api_url(self, value):
        return validate_endpoint(value)

    def validate_legacy_api_url(self, value):
        return validate_endpoint(value)

    def validate_subscription_api_url(self, value):
        return validate_endpoint(value)

    def validate_static_domain(self, value):
        return validate_endpoint(value)

    def validate_gateway_base_url(self, value):
        return validate_endpoint(value)

    def validate_global_offer_id(self, value: str) -> str:
        value = value.strip()
        if value and not _IDENTIFIER.match(value):
            raise serializers.ValidationError("Letters, digits, '-', '_' and '.' only.")
        return value

    def validate_free_shipping_coupon(self, value: str) -> str:
        return value.strip()

    def validate_sftp_host(self, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        if "://" in value or "/" in value:
            raise serializers.ValidationError("Enter the server's host name only, e.g. feeds.ordergroove.com.")
        if ":" in value and not _ip(value):
            raise serializers.ValidationError("Enter the host name only; the port has its own field.")
        if not (_HOSTNAME.match(value) or _ip(value)):
            raise serializers.ValidationError(f"'{value}' is not a valid host name.")
        try:  # a public address in production; checked again when connecting, after DNS resolution
            outbound_host_check(value, 22, unresolvable_ok=True)
        except OutboundRefused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value.lower()

    def validate_sftp_username(self, value: str) -> str:
        value = value.strip()
        if any(ch.isspace() for ch in value):
            raise serializers.ValidationError("The user name cannot contain spaces.")
        return value

    def validate_sftp_private_key(self, value):
        if value is None:
            return None
        try:
            private_key_parse(value)
        except SftpConfigError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value.strip() + "\n"

    def validate_sftp_host_key(self, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        try:
            return host_key_line(host_key_parse(value))
        except SftpConfigError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def _cron(self, name: str, value: str) -> str:
        try:
            return cron.cron_field_validate(name, value)
        except cron.CronError as exc:
            raise serializers.ValidationError(exc.message) from exc

    def validate_cron_minute(self, value):
        return self._cron("cron_minute", value)

    def validate_cron_hour(self, value):
        return self._cron("cron_hour", value)

    def validate_cron_day_of_month(self, value):
        return self._cron("cron_day_of_month", value)

    def validate_cron_month(self, value):
        return self._cron("cron_month", value)

    def validate_cron_day_of_week(self, value):
        return self._cron("cron_day_of_week", value)

    # Cross-field rules ---------------------------------------------------------------------------------------
    def _after(self, attrs: dict, name: str):
        if name in attrs:
            return attrs[name]
        source = self.og_settings if name in OG_FIELDS else self.feed_settings
        return getattr(source, name)

    def validate(self, attrs: dict) -> dict:
        errors: dict[str, list[str]] = {}
        cron_given = {name: attrs[name] for name in cron.FIELDS if name in attrs}
        if cron_given:
            fields = {name: self._after(attrs, name) for name in cron.FIELDS}
            try:
                attrs.update({k: v for k, v in cron.cron_validate(fields).items() if k in cron_given})
            except cron.CronError as exc:
                errors.setdefault(exc.field, []).append(exc.message)
        if self._after(attrs, "incentive_groups_enabled") and not self._after(attrs, "global_offer_id"):
            errors.setdefault("global_offer_id", []).append(
                "Incentive Groups need the Global Offer ID from your Ordergroove representative.")
        if self._after(attrs, "free_shipping_enabled") and not self._after(attrs, "free_shipping_coupon"):
            errors.setdefault("free_shipping_coupon", []).append(
                "Enter the name of the free-shipping coupon you created in BigCommerce.")
        if self._after(attrs, "payment_data_source") == OrdergrooveSettings.PaymentSource.GATEWAY:
            if not self._after(attrs, "gateway_base_url"):
                errors.setdefault("gateway_base_url", []).append("The payment gateway's API URL is required.")
            if not self._after(attrs, "gateway_api_key"):
                errors.setdefault("gateway_api_key", []).append("The payment gateway's API key is required.")
        if self._after(attrs, "sftp_private_key") and not self._after(attrs, "sftp_username"):
            errors.setdefault("sftp_username", []).append("A user name is needed with a private key.")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


class ScheduleSerializer(serializers.Serializer):
    scheduled = serializers.BooleanField()
    expression = serializers.CharField()
    time_zone = serializers.CharField()
    description = serializers.CharField()
    next_run = serializers.DateTimeField(allow_null=True)
    next_run_words = serializers.CharField()


class SettingsReadSerializer(serializers.Serializer):
    """What GET answers (documentation of the read shape; secrets only as `<name>_hint`)."""

    merchant_id = serializers.CharField()
    environment = serializers.CharField()
    api_url = serializers.CharField()
    legacy_api_url = serializers.CharField()
    subscription_api_url = serializers.CharField()
    static_domain = serializers.CharField()
    subscriptions_owned_by = serializers.CharField()
    incentive_groups_enabled = serializers.BooleanField()
    global_offer_id = serializers.CharField()
    free_shipping_enabled = serializers.BooleanField()
    free_shipping_coupon = serializers.CharField()
    delete_coupons_after_use = serializers.BooleanField()
    payment_data_source = serializers.CharField()
    gateway_base_url = serializers.CharField()
    sftp_host = serializers.CharField()
    sftp_port = serializers.IntegerField()
    sftp_username = serializers.CharField()
    sftp_host_key = serializers.CharField()
    sftp_host_key_fingerprint = serializers.CharField()
    cron_minute = serializers.CharField()
    cron_hour = serializers.CharField()
    cron_day_of_month = serializers.CharField()
    cron_month = serializers.CharField()
    cron_day_of_week = serializers.CharField()
    incremental_updates_enabled = serializers.BooleanField()
    hash_key_hint = serializers.CharField(help_text='"" (not set), "set" or "set (…last4)".')
    api_key_hint = serializers.CharField()
    webhook_verification_key_hint = serializers.CharField()
    gateway_api_key_hint = serializers.CharField()
    sftp_password_hint = serializers.CharField()
    sftp_private_key_hint = serializers.CharField()
    schedule = ScheduleSerializer()
    environment_presets = serializers.DictField(child=serializers.DictField(child=serializers.CharField()))
    updated_at = serializers.DateTimeField()


class CheckResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    detail = serializers.DictField(required=False)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
