"""Storefront tab fixtures: the configured store of tests/ordergroove/storefront_script, re-exported here."""

from __future__ import annotations

from tests.ordergroove.storefront_script.test_reconcile import configured  # noqa: F401
