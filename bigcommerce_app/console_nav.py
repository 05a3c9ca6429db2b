"""The console's shell: its tab bar (one list, so a new page is one line here) and the panels other apps add to
the Overview page.

bigcommerce_app owns the shell but never imports the apps whose pages it links to: tabs are plain paths, and
the Overview's panels (the setup checklist of ordergroove.console) are registered at start-up (AppConfig.ready),
as the webhook handlers are in `registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bigcommerce_app.models import Store


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


@dataclass(frozen=True)
class OverviewPanel:
    template: str
    context: Callable[[Store], dict[str, Any]]
    order: int


_panels: dict[str, OverviewPanel] = {}


def overview_panel_register(name: str, template: str, context: Callable[[Store], dict[str, Any]], *,
                            order: int = 100) -> None:
    """Show `template` on the Overview, rendered with `context(store)` (plus `console`); lower `order` first."""
    _panels[name] = OverviewPanel(template, context, order)


def overview_panels(store: Store) -> list[dict[str, Any]]:
    return [{"template": panel.template, "context": panel.context(store)}
            for panel in sorted(_panels.values(), key=lambda panel: panel.order)]
