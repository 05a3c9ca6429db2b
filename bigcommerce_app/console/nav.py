"""The console's shell: its tab bar (one list, so a new page is one line here). Tabs are plain paths; the
Overview's panels are the console's own (console.overview)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    path: str


# The tab bar, left to right. A page belongs to the tab whose path is the longest prefix of its own path.
TABS: tuple[Tab, ...] = (
    Tab("overview", "Overview", "/console/"),
    Tab("settings", "Settings", "/console/settings/"),
    Tab("products", "Import / Export", "/console/products/"),
    Tab("feeds", "Product feed", "/console/feeds/"),
    Tab("storefront", "Storefront", "/console/storefront/"),
    Tab("activity", "Activity", "/console/activity/"),
    Tab("ordergroove-events", "Ordergroove events", "/console/ordergroove-events/"),
)


def tab_active(path: str) -> str:
    """The key of the tab a page at `path` belongs to ("" when none does)."""
    matches = [tab for tab in TABS if path.startswith(tab.path)]
    return max(matches, key=lambda tab: len(tab.path)).key if matches else ""
