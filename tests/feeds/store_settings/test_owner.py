"""The owner of the feed settings: the install creates the row, a write validates the SFTP and schedule rules
(normalising the cron fields) and changes nothing when one fails; the feed identity comes from the Ordergroove
settings owner's read API."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.exceptions import ValidationError

from feeds.models import FeedSettings
from feeds.store_settings.selectors import feed_identity, feed_settings_for
from feeds.store_settings.services import feed_settings_update
from ordergroove.store_settings.services import og_settings_update

pytestmark = pytest.mark.django_db


def test_the_install_creates_the_row_through_the_owner(store):
    assert FeedSettings.objects.filter(store=store).exists()
    assert feed_settings_for(store).store_id == store.pk


def test_an_update_is_cleaned_and_reports_what_changed(store):
    changed = feed_settings_update(store, {"sftp_host": "SFTP.Example.com", "sftp_username": " feeder ",
                                           "cron_minute": " 5 ", "cron_hour": "2"})

    row = feed_settings_for(store)
    assert sorted(changed) == ["cron_hour", "cron_minute", "sftp_host", "sftp_username"]
    assert (row.sftp_host, row.sftp_username, row.cron_expression) == ("sftp.example.com", "feeder", "5 2 * * *")


def test_an_invalid_update_names_every_field_and_changes_nothing(store):
    with pytest.raises(ValidationError) as raised:
        feed_settings_update(store, {"sftp_host": "sftp://x/", "cron_hour": "25", "sftp_port": 0,
                                     "sftp_host_key": "not a key", "merchant_id": "m"})

    assert set(raised.value.message_dict) == {"sftp_host", "cron_hour", "sftp_port", "sftp_host_key", "merchant_id"}
    assert feed_settings_for(store).cron_hour == "*"


def test_a_private_key_needs_a_user_name(store):
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()).decode()

    with pytest.raises(ValidationError) as raised:
        feed_settings_update(store, {"sftp_username": "", "sftp_private_key": key})
    assert raised.value.message_dict == {"sftp_username": ["A user name is needed with a private key."]}
    assert feed_settings_update(store, {"sftp_username": "feeder", "sftp_private_key": key}) == [
        "sftp_username", "sftp_private_key"]
    assert feed_settings_for(store).sftp_private_key == key.strip() + "\n"


def test_the_feed_identity_reads_the_ordergroove_settings_owner(store):
    og_settings_update(store, {"merchant_id": "shop1", "global_offer_id": "OFFER1", "incentive_groups_enabled": True})

    identity = feed_identity(store)
    assert (identity.merchant_id, identity.incentive_group) == ("shop1", "OFFER1")
    assert identity.products_file == "shop1.Products.xml"
