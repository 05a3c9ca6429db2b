"""Feeds app models, one module per feature; each is imported here so Django sees it."""

from feeds.models.products import (
    ProductExportChunk,
    ProductExportJob,
    ProductSettingsImport,
    ProductSubscriptionSetting,
)
from feeds.models.runs import FeedRun
from feeds.models.settings import FEED_TIME_ZONE, FeedSettings

__all__ = ["FEED_TIME_ZONE", "FeedSettings", "ProductSubscriptionSetting", "ProductExportChunk", "ProductExportJob",
           "ProductSettingsImport", "FeedRun"]
