"""A fake BigCommerce storefront (Cornerstone theme + Optimized One-Page Checkout) on loopback: see server.py."""

from tests.fakes.storefront.server import FakeStorefront

__all__ = ["FakeStorefront"]
