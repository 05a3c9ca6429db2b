"""Storefront content at BigCommerce: our scripts (Scripts API) and web pages (Pages API), reconciled the way the
webhooks are (DECISIONS §4.3): on install, on every load, daily and after a setting they depend on changes.

What a store should hold comes from the app registered in `registry.register_storefront_content` (the
Ordergroove storefront script, issue 13); this module only makes BigCommerce match it: one script per store and
placement, never duplicates (the store row is locked, so two loads at once reconcile one after the other),
re-created when the merchant deleted it, updated when its tag changed, removed when no longer wanted.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from bigcommerce_app import registry
from bigcommerce_app.client import BigCommerceClient, BigCommerceError, client_for_store
from bigcommerce_app.models import Store, StorefrontPage, StorefrontScript

logger = logging.getLogger(__name__)

CONTENT_SCOPE = "store_v2_content"  # "Content: modify" (scripts and pages)
CHECKOUT_SCOPE = "store_content_checkout"  # "Checkout content: modify" (visibility checkout / all_pages)
SCOPE_LABELS = {CONTENT_SCOPE: "Content: modify", CHECKOUT_SCOPE: "Checkout content: modify"}
# The script fields we set and compare; BigCommerce adds uuid, dates, api_client_id, channel_id.
SCRIPT_FIELDS = ("name", "description", "html", "kind", "load_method", "location", "visibility",
                 "auto_uninstall", "consent_category", "enabled")


@dataclass(frozen=True)
class ScriptSpec:
    key: str
    name: str
    description: str
    html: str
    location: str = "footer"
    visibility: str = "storefront"
    consent_category: str = "essential"
    load_method: str = "default"
    kind: str = "script_tag"

    def body(self) -> dict:
        return {"name": self.name, "description": self.description, "html": self.html, "kind": self.kind,
                "load_method": self.load_method, "location": self.location, "visibility": self.visibility,
                "auto_uninstall": True, "consent_category": self.consent_category, "enabled": True}

    @property
    def digest(self) -> str:
        return hashlib.sha256(repr(sorted(self.body().items())).encode()).hexdigest()

    @property
    def scopes(self) -> tuple[str, ...]:
        return (CONTENT_SCOPE, CHECKOUT_SCOPE) if self.visibility in ("checkout", "all_pages") else (CONTENT_SCOPE,)


@dataclass(frozen=True)
class PageSpec:
    key: str
    name: str
    url: str
    body: str

    def request_body(self) -> dict:
        # A WYSIWYG page ("page"), kept out of the navigation menu: the script links it from My Account.
        return {"name": self.name, "type": "page", "body": self.body, "url": self.url, "is_visible": False}


@dataclass
class StorefrontContent:
    scripts: list[ScriptSpec] = field(default_factory=list)
    pages: list[PageSpec] = field(default_factory=list)
    # Every name the provider may own: ours that are no longer wanted are removed (switched off, theme-managed).
    owned_script_names: tuple[str, ...] = ()
    owned_page_names: tuple[str, ...] = ()


def scope_message(exc: BigCommerceError, scopes: tuple[str, ...]) -> str:
    """A 403 names the scope to grant; anything else is BigCommerce's own words."""
    if exc.status == 403:
        wanted = " and ".join(f"{SCOPE_LABELS.get(s, s)} ({s})" for s in scopes)
        return (f"BigCommerce refused (403): the app needs the OAuth scope {wanted}. Grant it in the Developer "
                f"Portal (app → Technical → OAuth scopes), then open the app again to re-authorize.")
    return str(exc)


def storefront_content_reconcile(store: Store) -> dict[str, str]:
    """Make BigCommerce hold exactly the wanted scripts and pages; returns {key: what was done}. Never raises
    for BigCommerce's refusals: each row keeps its error for the console."""
    content = registry.storefront_content_for(store)
    if content is None or not store.is_installed:
        return {}
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()
        client = client_for_store(store)
        done = _scripts_reconcile(store, client, content)
        done.update(_pages_reconcile(store, client, content))
    return done


def _record(model, store: Store, key: str, **fields) -> None:
    model.objects.update_or_create(store=store, key=key, defaults={**fields, "last_synced_at": timezone.now()})


def _scripts_reconcile(store: Store, client: BigCommerceClient, content: StorefrontContent) -> dict[str, str]:
    if not content.scripts and not StorefrontScript.objects.filter(store=store).exclude(bc_uuid="").exists():
        return {}  # nothing wanted and nothing of ours recorded: spare the call
    try:
        existing = [s for s in client.scripts() if s.get("name") in content.owned_script_names]
    except BigCommerceError as exc:
        message = scope_message(exc, (CONTENT_SCOPE,))
        logger.warning("Listing scripts of store %s failed: %s", store.store_hash, exc)
        for spec in content.scripts:
            _record(StorefrontScript, store, spec.key, name=spec.name, last_error=message,
                    last_action="could not list the store's scripts")
        return {spec.key: "error" for spec in content.scripts}
    done: dict[str, str] = {}
    wanted_names = {spec.name for spec in content.scripts}
    for spec in content.scripts:
        done[spec.key] = _script_ensure(store, client, spec, [s for s in existing if s.get("name") == spec.name])
    for script in existing:
        if script.get("name") not in wanted_names:
            _script_remove(store, client, script)
    wanted_keys = [spec.key for spec in content.scripts]
    for row in StorefrontScript.objects.filter(store=store).exclude(key__in=wanted_keys):
        if row.state != StorefrontScript.State.REMOVED or row.last_error:
            row.state, row.bc_uuid, row.last_error = StorefrontScript.State.REMOVED, "", ""
            row.last_action, row.last_synced_at = "removed (switched off)", timezone.now()
            row.save()
            done[row.key] = "removed"
    return done


def _script_ensure(store: Store, client: BigCommerceClient, spec: ScriptSpec, found: list[dict]) -> str:
    row = StorefrontScript.objects.filter(store=store, key=spec.key).first()
    body = spec.body()
    try:
        for duplicate in found[1:]:  # an earlier crash between create and record, or a copy made by hand
            client.script_delete(duplicate["uuid"])
        if not found:
            script = client.script_create(body)
            action = "re-created (it was missing at BigCommerce)" if row and row.bc_uuid else "created"
        elif any(found[0].get(k) != v for k, v in body.items()):
            script = client.script_update(found[0]["uuid"], body)
            action = "updated"
        else:
            script, action = found[0], "unchanged"
    except BigCommerceError as exc:
        message = scope_message(exc, spec.scopes)
        logger.warning("Installing the %s script of store %s failed: %s", spec.key, store.store_hash, exc)
        _record(StorefrontScript, store, spec.key, name=spec.name, state=StorefrontScript.State.MISSING,
                visibility=spec.visibility, location=spec.location, last_error=message,
                last_action="failed", bc_uuid=found[0]["uuid"] if found else "")
        return "error"
    if len(found) > 1:
        action += f"; {len(found) - 1} duplicate(s) removed"
    _record(StorefrontScript, store, spec.key, name=spec.name, bc_uuid=str(script.get("uuid") or ""),
            visibility=spec.visibility, location=spec.location, html_digest=spec.digest,
            state=StorefrontScript.State.INSTALLED, last_action=action, last_error="")
    return action


def _script_remove(store: Store, client: BigCommerceClient, script: dict) -> None:
    try:
        client.script_delete(script["uuid"])
    except BigCommerceError as exc:
        logger.warning("Removing script %s of store %s failed: %s", script.get("name"), store.store_hash, exc)
        StorefrontScript.objects.filter(store=store, name=script.get("name")).update(
            last_error=f"not wanted any more, but removing it failed: {scope_message(exc, (CONTENT_SCOPE,))}",
            last_synced_at=timezone.now())


def _pages_reconcile(store: Store, client: BigCommerceClient, content: StorefrontContent) -> dict[str, str]:
    """Our pages are the ones we recorded (by id: the merchant may rename the page title in the console) and,
    after a crash between create and record, a page with the wanted or an owned name."""
    recorded = dict(StorefrontPage.objects.filter(store=store, bc_page_id__isnull=False)
                    .values_list("key", "bc_page_id"))
    if not content.pages and not recorded:
        return {}  # nothing wanted and nothing of ours recorded: spare the call
    done: dict[str, str] = {}
    try:
        pages = client.pages()
    except BigCommerceError as exc:
        for spec in content.pages:
            _record(StorefrontPage, store, spec.key, name=spec.name, url=spec.url,
                    last_error=scope_message(exc, (CONTENT_SCOPE,)), last_action="could not list the pages")
        return {spec.key: "error" for spec in content.pages}
    names = {*content.owned_page_names, *(spec.name for spec in content.pages)}
    existing = [p for p in pages if p.get("id") in recorded.values() or p.get("name") in names]
    for spec in content.pages:
        found = ([p for p in existing if p.get("id") == recorded.get(spec.key)]
                 or [p for p in existing if p.get("name") == spec.name])
        done[spec.key] = _page_ensure(store, client, spec, found)
    wanted_keys = [spec.key for spec in content.pages]
    kept = set(StorefrontPage.objects.filter(store=store, key__in=wanted_keys).values_list("bc_page_id", flat=True))
    for page in existing:
        if page.get("id") not in kept:
            try:
                client.page_delete(page["id"])
            except BigCommerceError as exc:
                logger.warning("Removing page %s of store %s failed: %s", page.get("name"), store.store_hash, exc)
    for row in StorefrontPage.objects.filter(store=store).exclude(key__in=wanted_keys):
        row.state, row.bc_page_id, row.last_action = StorefrontScript.State.REMOVED, None, "removed (switched off)"
        row.last_synced_at = timezone.now()
        row.save()
        done[row.key] = "removed"
    return done


def _page_ensure(store: Store, client: BigCommerceClient, spec: PageSpec, found: list[dict]) -> str:
    body = spec.request_body()
    try:
        if not found:
            page, action = client.page_create(body), "created"
        elif any(found[0].get(k) != v for k, v in body.items()):
            page, action = client.page_update(found[0]["id"], body), "updated"
        else:
            page, action = found[0], "unchanged"
    except BigCommerceError as exc:
        logger.warning("Creating the %s page of store %s failed: %s", spec.key, store.store_hash, exc)
        _record(StorefrontPage, store, spec.key, name=spec.name, url=spec.url, state=StorefrontScript.State.MISSING,
                last_error=scope_message(exc, (CONTENT_SCOPE,)), last_action="failed")
        return "error"
    _record(StorefrontPage, store, spec.key, name=spec.name, url=str(page.get("url") or spec.url),
            bc_page_id=page.get("id"), state=StorefrontScript.State.INSTALLED, last_action=action, last_error="")
    return action


def storefront_content_forget(store: Store) -> None:
    """Uninstall: BigCommerce removes our scripts itself (`auto_uninstall`), and the token is gone."""
    now = timezone.now()
    StorefrontScript.objects.filter(store=store).update(state=StorefrontScript.State.REMOVED, bc_uuid="",
                                                        last_action="removed by BigCommerce at uninstall",
                                                        last_synced_at=now)
    StorefrontPage.objects.filter(store=store).update(last_action="left in place at uninstall", last_synced_at=now)
