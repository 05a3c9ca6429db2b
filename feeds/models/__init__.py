"""Feeds app models, one module per feature; each is imported here so Django sees it."""

from feeds.models.products import ProductSubscriptionSetting
from feeds.models.settings import FEED_TIME_ZONE, FeedSettings

__all__ = ["FEED_TIME_ZONE", "FeedSettings", "ProductSubscriptionSetting"]
