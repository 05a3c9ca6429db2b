"""Import/Export tab fixtures: the small catalog of tests/feeds/products, re-exported here."""

from __future__ import annotations

from tests.feeds.products.conftest import catalog  # noqa: F401
