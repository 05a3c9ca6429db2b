"""The store's settings as one flat JSON object (`/console/api/settings`) and the HTML form: the shapes only
(types, lengths, choices). The rules are the settings owners': each field's rule and the cross-field rules come
from `ordergroove.store_settings.validation` and `feeds.store_settings.validation`, so the form, the API and any
other writer answer the same errors. Secrets are write-only: the read shape carries `<name>_hint` ("set (…last4)"
at most), never the value.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from feeds.models import FeedSettings
from feeds.store_settings import validation as feed_rules
from ordergroove.models import OrdergrooveSettings
from ordergroove.store_settings import validation as og_rules

SECRET_FIELDS = og_rules.OG_SECRETS + feed_rules.FEED_SECRETS


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

    # Rules: the owners' ---------------------------------------------------------------------------------------
    def validate(self, attrs: dict) -> dict:
        """The owners' cross-field rules, on the values after the change (DRF runs this once every field passed
        its shape and its rule)."""
        errors: dict[str, list[str]] = {}
        try:
            attrs = feed_rules.cross_field_clean(self.feed_settings, attrs)
        except DjangoValidationError as exc:
            errors.update(exc.message_dict)
        for name, messages in og_rules.cross_field_errors(self.og_settings, attrs).items():
            errors.setdefault(name, []).extend(messages)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# Each field's rule is its owner's: DRF calls `validate_<name>(value)` after the field's shape, and files a Django
# ValidationError the rule raises under that field.
for _name, _rule in (*og_rules.FIELD_RULES.items(), *feed_rules.FIELD_RULES.items()):
    setattr(SettingsSerializer, f"validate_{_name}", staticmethod(_rule))


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
