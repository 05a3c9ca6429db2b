"""The owner of the Ordergroove settings: the install creates the row, a write validates every field and the
cross-field rules and changes nothing when one fails."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from ordergroove.models import OrdergrooveSettings
from ordergroove.store_settings.selectors import og_settings_for, og_settings_get
from ordergroove.store_settings.services import og_settings_update

pytestmark = pytest.mark.django_db


def test_the_install_creates_the_row_through_the_owner(store):
    assert og_settings_get(store) is not None
    assert og_settings_for(store).pk == OrdergrooveSettings.objects.get(store=store).pk


def test_an_update_is_cleaned_and_reports_what_changed(store):
    changed = og_settings_update(store, {"merchant_id": " shop1 ", "api_url": "http://127.0.0.1:9/",
                                         "hash_key": "k" * 32})

    row = og_settings_get(store)
    assert sorted(changed) == ["api_url", "hash_key", "merchant_id"]
    assert (row.merchant_id, row.api_url, row.hash_key) == ("shop1", "http://127.0.0.1:9", "k" * 32)
    assert og_settings_update(store, {"merchant_id": "shop1"}) == []
    assert og_settings_update(store, {"hash_key": None}) == ["hash_key"]
    assert og_settings_get(store).hash_key == ""


def test_an_invalid_update_names_every_field_and_changes_nothing(store):
    with pytest.raises(ValidationError) as raised:
        og_settings_update(store, {"merchant_id": "no spaces please", "hash_key": "short",
                                   "environment": "moon", "sftp_host": "x"})

    assert set(raised.value.message_dict) == {"merchant_id", "hash_key", "environment", "sftp_host"}
    assert og_settings_get(store).merchant_id == ""


def test_cross_field_rules_use_the_saved_values(store):
    og_settings_update(store, {"global_offer_id": "OFFER1"})
    og_settings_update(store, {"incentive_groups_enabled": True})  # the saved offer id satisfies the rule

    with pytest.raises(ValidationError) as raised:
        og_settings_update(store, {"global_offer_id": ""})
    assert "global_offer_id" in raised.value.message_dict
    assert og_settings_get(store).global_offer_id == "OFFER1"
