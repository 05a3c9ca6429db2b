"""The write API of the feed settings: create the row at install, save a validated change."""

from __future__ import annotations

from bigcommerce_app.models import Store
from bigcommerce_app.store_settings import row_update
from feeds.models import FeedSettings
from feeds.store_settings.validation import FEED_SECRETS, feed_settings_clean


def feed_settings_ensure(store: Store) -> None:
    """Every installed store has its row (registered with bigcommerce_app's install flow)."""
    FeedSettings.objects.get_or_create(store=store)


def feed_settings_update(store: Store, data: dict) -> list[str]:
    """Validate (validation.feed_settings_clean: ValidationError with every error, nothing changed) and save the
    given fields; returns the names of those that changed (secrets by name only; a null secret clears it). Every
    save moves the row's `updated_at`, from which a missing scheduled upload counts."""
    return row_update(FeedSettings, store, data, clean=feed_settings_clean, secrets=FEED_SECRETS)
