"""Fixtures for everything Ordergroove: the fake Ordergroove (one server per session, emptied per test) and a
store whose Ordergroove settings point at it. Other test packages import these names; keep them stable."""

from __future__ import annotations

import pytest

from tests.fakes.ordergroove import FakeOrdergroove

OG_MERCHANT_ID = "ogmerchant1"
# Ordergroove's published demo key (ordergroove.md §2.1/§3.2): 32 bytes, so AES-256 works with it.
OG_HASH_KEY = "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0"
OG_API_KEY = "og-app-key-0123456789abcdef"


@pytest.fixture(scope="session")
def fake_og_server():
    server = FakeOrdergroove().start()
    yield server
    server.stop()


@pytest.fixture
def fake_og(fake_og_server):
    """The fake Ordergroove, emptied (merchants, customers, subscriptions, recorded requests, faults)."""
    fake_og_server.reset()
    return fake_og_server


@pytest.fixture
def og_settings(store, fake_og):
    """The installed store's OrdergrooveSettings, configured against fake_og (merchant OG_MERCHANT_ID, hash key
    OG_HASH_KEY, application API key OG_API_KEY), the merchant registered in the fake."""
    from ordergroove.models import OrdergrooveSettings

    row, _ = OrdergrooveSettings.objects.get_or_create(store=store)
    return fake_og.configure(row, merchant_id=OG_MERCHANT_ID, hash_key=OG_HASH_KEY, api_key=OG_API_KEY)
