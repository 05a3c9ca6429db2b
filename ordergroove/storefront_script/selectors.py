"""Reads for the console's Storefront tab and the Overview checklist: the script's state at BigCommerce as the
last reconcile left it, compared with what the service would install now (no call to BigCommerce)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bigcommerce_app.models import Store, StorefrontPage, StorefrontScript
from ordergroove.models import StorefrontSettings
from ordergroove.store_settings.selectors import og_settings_get, storefront_settings_get
from ordergroove.storefront_script.content import is_active, wanted_content


@dataclass
class StorefrontStatus:
    state: str  # installed | missing | outdated | disabled
    detail: str
    scripts: list[dict] = field(default_factory=list)
    pages: list[dict] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.state == "installed"


def _row_view(row, wanted_digest: str | None = None) -> dict:
    view = {"key": row.key, "name": row.name, "state": row.state, "last_action": row.last_action,
            "last_error": row.last_error, "last_synced_at": row.last_synced_at}
    if isinstance(row, StorefrontScript):
        view.update(visibility=row.visibility, location=row.location, uuid=row.bc_uuid,
                    outdated=bool(wanted_digest) and row.state == row.State.INSTALLED
                    and row.html_digest != wanted_digest)
    else:
        view.update(url=row.url, page_id=row.bc_page_id)
    return view


def storefront_status(store: Store) -> StorefrontStatus:
    """installed: every wanted script and page is at BigCommerce as the service would write it now; outdated:
    installed, but the tag changed since (new script version or setting) and no reconcile ran yet; missing: one
    is not there (with BigCommerce's reason, e.g. a missing scope); disabled: off or theme-managed."""
    sf = storefront_settings_get(store)
    og = og_settings_get(store)
    scripts = {row.key: row for row in StorefrontScript.objects.filter(store=store)}
    pages = {row.key: row for row in StorefrontPage.objects.filter(store=store)}
    if sf.mode != StorefrontSettings.Mode.SERVICE:
        label = "theme-managed: seed 002's theme edits do the work" if sf.mode == sf.Mode.THEME_MANAGED else "off"
        return StorefrontStatus("disabled", f"Nothing installed ({label}).",
                                [_row_view(r) for r in scripts.values()], [_row_view(r) for r in pages.values()])
    if not is_active(og, sf):
        return StorefrontStatus("missing", "Enter the Ordergroove merchant ID on the Settings tab first.")
    content = wanted_content(store)
    script_views = [_row_view(scripts[s.key], s.digest) if s.key in scripts else
                    {"key": s.key, "name": s.name, "state": "missing", "last_action": "", "last_error": "",
                     "outdated": False} for s in content.scripts]
    page_views = [_row_view(pages[p.key]) if p.key in pages else
                  {"key": p.key, "name": p.name, "state": "missing", "last_action": "", "last_error": "", "url": p.url}
                  for p in content.pages]
    problems = [v for v in script_views + page_views if v["state"] != StorefrontScript.State.INSTALLED]
    if problems:
        reasons = "; ".join(f"{v['name']}: {v['last_error'] or 'not installed yet'}" for v in problems)
        return StorefrontStatus("missing", reasons, script_views, page_views)
    if any(v.get("outdated") for v in script_views):
        return StorefrontStatus("outdated", "A newer script or changed setting is waiting for the next reconcile.",
                                script_views, page_views)
    if not content.scripts:
        return StorefrontStatus("disabled", "Every storefront feature is switched off.", [], page_views)
    return StorefrontStatus("installed", "Installed at BigCommerce; no theme edits needed.", script_views, page_views)
