"""The read API of the feed settings, and the store's feed identity (from the Ordergroove settings owner)."""

from __future__ import annotations

from dataclasses import dataclass

from bigcommerce_app.models import Store
from feeds.models import FeedSettings
from ordergroove.store_settings.selectors import og_settings_get


@dataclass
class FeedIdentity:
    """What the feed needs from the store's Ordergroove settings (read through their owner's read API)."""

    merchant_id: str
    incentive_group: str

    @property
    def products_file(self) -> str:
        return f"{self.merchant_id}.Products.xml"

    @property
    def categories_file(self) -> str:
        return f"{self.merchant_id}.Categories.xml"


def feed_identity(store: Store) -> FeedIdentity:
    row = og_settings_get(store)
    if row is None:
        return FeedIdentity("", "")
    incentive = row.global_offer_id.strip() if row.incentive_groups_enabled else ""
    return FeedIdentity(merchant_id=(row.merchant_id or "").strip(), incentive_group=incentive)


def feed_settings_for(store: Store) -> FeedSettings:
    """The store's row; created here for a store installed before rows were made at install."""
    return FeedSettings.objects.get_or_create(store=store)[0]
