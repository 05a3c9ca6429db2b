"""What a store should hold at BigCommerce for its storefront: the provider registered with bigcommerce_app's
storefront content reconcile (which does the Scripts and Pages API calls)."""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.html import escape

from bigcommerce_app import registry
from bigcommerce_app.models import Store
from bigcommerce_app.storefront_content import PageSpec, ScriptSpec, StorefrontContent
from feeds.models import ProductSubscriptionSetting
from ordergroove.models import OrdergrooveSettings, StorefrontSettings
from ordergroove.store_settings.selectors import og_settings_get, storefront_settings_get
from ordergroove.storefront_script.asset import script_url

STOREFRONT_SCRIPT = "Ordergroove storefront"
CHECKOUT_SCRIPT = "Ordergroove checkout"
MAX_ONE_TIME_LABELS = 50  # distinct labels of one-time options; keeps the tag far below the 64 KB html limit
# Products read for those labels: merchants reuse one label ("One-time purchase"), and an app load must not read
# a whole 100k-product catalog; the script also treats any "One-time…" label as one-time.
MAX_PRODUCTS_SCANNED = 2000


def one_time_labels(store: Store) -> list[str]:
    """Labels of the "Subscription" modifier options that are one-time purchases (every = 0) in the imported
    CSV, so the checkout script recognises a subscription line by what the cart API shows (DECISIONS §3.7)."""
    labels: set[str] = set()
    rows = ProductSubscriptionSetting.objects.filter(store=store, autoship_eligible=True).values_list(
        "frequencies", flat=True)[:MAX_PRODUCTS_SCANNED]
    for frequencies in rows:
        for option in frequencies or []:
            if not int(option.get("every") or 0) and option.get("name"):
                labels.add(str(option["name"]).strip()[:100])
        if len(labels) >= MAX_ONE_TIME_LABELS:
            break
    return sorted(labels)[:MAX_ONE_TIME_LABELS]


def script_tag(store: Store, og: OrdergrooveSettings, sf: StorefrontSettings, *, page: str,
               features: list[str]) -> str:
    """The one <script> tag registered for a placement: the versioned file plus the store's configuration."""
    attributes = {
        "src": script_url(), "data-og-app": settings.APP_URL.rstrip("/"),
        "data-og-client": settings.BIGCOMMERCE_CLIENT_ID, "data-og-store": store.store_hash,
        "data-og-merchant": og.merchant_id, "data-og-static": og.static_domain,
        "data-og-owner": og.subscriptions_owned_by, "data-og-features": " ".join(features), "data-og-page": page,
        "data-og-msi-path": sf.subscription_page_url if sf.subscription_page_enabled else "",
        "data-og-msi-title": sf.subscription_page_title,
        "data-og-one-time": json.dumps(one_time_labels(store)) if page == "checkout" else "",
    }
    rendered = " ".join(f'{name}="{escape(value)}"' for name, value in attributes.items() if value)
    return f"<script {rendered} defer></script>"


def is_active(og: OrdergrooveSettings | None, sf: StorefrontSettings) -> bool:
    return sf.mode == StorefrontSettings.Mode.SERVICE and og is not None and bool(og.merchant_id)


def wanted_content(store: Store) -> StorefrontContent:
    og = og_settings_get(store)
    sf = storefront_settings_get(store)
    content = StorefrontContent(owned_script_names=(STOREFRONT_SCRIPT, CHECKOUT_SCRIPT))
    if not is_active(og, sf):
        return content  # off, theme-managed, or no Ordergroove merchant yet: nothing at BigCommerce
    features = [name for name, on in (("og_auth", sf.og_auth_enabled), ("payment_guard", sf.payment_guard_enabled),
                                      ("msi", sf.subscription_page_enabled)) if on]
    if features:
        content.scripts.append(ScriptSpec(
            key="storefront", name=STOREFRONT_SCRIPT, visibility="storefront", location="footer",
            description="og_auth cookie, payment-method guard and Subscription Manager (Ordergroove app)",
            html=script_tag(store, og, sf, page="storefront", features=features)))
    if sf.checkout_guards_enabled:
        content.scripts.append(ScriptSpec(
            key="checkout", name=CHECKOUT_SCRIPT, visibility="checkout", location="footer",
            description="Checkout guards for carts with a subscription (Ordergroove app)",
            html=script_tag(store, og, sf, page="checkout", features=["checkout"])))
    if sf.subscription_page_enabled:
        # The div Ordergroove's msi.js fills; the storefront script adds msi.js for logged-in shoppers only.
        # Its title is what shoppers see as the heading (the merchant sets it in the console).
        content.pages.append(PageSpec(key="subscription_manager", name=sf.subscription_page_title,
                                      url=sf.subscription_page_url, body='<div id="og-msi"></div>'))
    return content


def register() -> None:
    registry.register_storefront_content(wanted_content)
