"""The merchant's words for the codes the service stores: OAuth scopes, audit trail entries and alert kinds.
An unknown code (a scope BigCommerce adds later, a new audit kind) still reads: underscores become spaces."""

from __future__ import annotations

from bigcommerce_app.models import AuditEvent

# BigCommerce's names of the OAuth scopes (Dev Portal › Technical › OAuth scopes).
SCOPE_LABELS = {
    "store_v2_orders": "Orders: modify",
    "store_v2_orders_read_only": "Orders: read",
    "store_v2_transactions": "Order transactions: modify",
    "store_v2_transactions_read_only": "Order transactions: read",
    "store_v2_products": "Products: modify",
    "store_v2_products_read_only": "Products: read",
    "store_v2_customers": "Customers: modify",
    "store_v2_customers_read_only": "Customers: read",
    "store_stored_payment_instruments": "Stored payment instruments: modify",
    "store_stored_payment_instruments_read_only": "Stored payment instruments: read",
    "store_payments_methods_read": "Get payment methods",
    "store_payments_access_token_create": "Create payment access tokens",
    "store_v2_marketing": "Marketing: modify",
    "store_v2_marketing_read_only": "Marketing: read",
    "store_v2_information": "Information & settings: modify",
    "store_v2_information_read_only": "Information & settings: read",
    "store_channel_settings_read_only": "Channel settings: read",
    "store_channel_settings": "Channel settings: modify",
    "store_sites_read_only": "Sites & routes: read",
    "store_sites": "Sites & routes: modify",
    "store_v2_content": "Content: modify",
    "store_v2_content_read_only": "Content: read",
    "store_content_checkout": "Checkout content: modify",
    "store_content_checkout_read_only": "Checkout content: read",
    "users_basic_information": "Basic user information",
}

AUDIT_LABELS = {
    "installed": "App installed",
    "reinstalled": "App installed again (or re-authorized)",
    "loaded": "Console opened",
    "uninstalled": "App uninstalled",
    "user_removed": "User's access removed",
    "needs_reauth": "BigCommerce refused the access token (re-authorization needed)",
    "settings_updated": "Settings saved",
    "connection_checked": "Connection checked",
    "alert_acknowledged": "Alert acknowledged",
    "product_export_started": "Product CSV export started",
    "product_export_succeeded": "Product CSV export finished",
    "product_export_failed": "Product CSV export failed",
    "product_settings_import_queued": "Product CSV import queued for checking",
    "product_settings_imported": "Product CSV imported",
    "product_settings_rolled_back": "Product CSV import rolled back",
    "feed_run_requested": "Product feed run requested",
    "sftp_host_key_pinned": "SFTP host key pinned",
}

ALERT_LABELS = {
    "ordergroove_delivery": "Ordergroove refused a call",
    "ordergroove_not_configured": "Ordergroove is not configured",
    "order_placement_failed": "A recurring order could not be placed",
    "order_placement_unpaid_order": "A recurring order is unpaid",
    "coupon_delete_failed": "A used coupon could not be deleted",
    "order_reject": "Ordergroove rejected a recurring order",
    "order_generic_error": "Ordergroove could not place a recurring order",
    "order_retryable_placement_failure": "A recurring order is being retried",
    "feed_failed": "The product feed failed",
    "feed_stale": "The product feed is stale",
}

# Where the merchant looks into (or fixes) each kind of alert.
ALERT_LINKS = {
    "ordergroove_delivery": ("See the failed calls", "/console/activity/?status=failed"),
    "ordergroove_not_configured": ("Open Settings", "/console/settings/#ordergroove-account"),
    "order_placement_failed": ("See the recurring orders", "/console/ordergroove-events/"),
    "order_placement_unpaid_order": ("See the recurring orders", "/console/ordergroove-events/"),
    "order_reject": ("See the recurring orders", "/console/ordergroove-events/"),
    "order_generic_error": ("See the recurring orders", "/console/ordergroove-events/"),
    "order_retryable_placement_failure": ("See the recurring orders", "/console/ordergroove-events/"),
    "feed_failed": ("See the feed runs", "/console/feeds/"),
    "feed_stale": ("See the feed runs", "/console/feeds/"),
}

CHECK_TARGETS = {"ordergroove": "Ordergroove", "sftp": "SFTP"}


def _words(code: str) -> str:
    text = code.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def scope_label(scope: str) -> str:
    return SCOPE_LABELS.get(scope, _words(scope))


def scopes_labelled(scope_field: str) -> list[dict[str, str]]:
    """The store's granted scopes (space-separated, as BigCommerce sends them) as label + code, sorted by label."""
    return sorted(({"label": scope_label(code), "code": code} for code in scope_field.split()),
                  key=lambda row: row["label"])


def alert_label(kind: str) -> str:
    return ALERT_LABELS.get(kind, _words(kind))


def alert_link(kind: str) -> dict[str, str] | None:
    """The console page where an alert of this kind is looked into, as {"text", "path"} (None: no such page)."""
    link = ALERT_LINKS.get(kind)
    return {"text": link[0], "path": link[1]} if link else None


def audit_describe(event: AuditEvent) -> str:
    """One line of the lifecycle trail: what happened, with the detail a merchant cares about."""
    detail = event.detail or {}
    label = AUDIT_LABELS.get(event.kind, _words(event.kind))
    if event.kind == "connection_checked":
        target = CHECK_TARGETS.get(detail.get("target", ""), detail.get("target", ""))
        return f"{target} connection checked: {'working' if detail.get('ok') else 'failed'}"
    if event.kind == "settings_updated" and detail.get("fields"):
        fields = [_words(name).lower() for name in detail["fields"][:6]]
        more = len(detail["fields"]) - len(fields)
        return f"{label}: {', '.join(fields)}{f' and {more} more' if more > 0 else ''}"
    if event.kind == "feed_run_requested" and detail.get("run_id"):
        return f"{label} (run {detail['run_id']})"
    if event.kind == "alert_acknowledged" and detail.get("alert_kind"):
        return f"{label}: {alert_label(detail['alert_kind'])}"
    if event.kind in ("product_settings_imported", "product_settings_rolled_back") and detail.get("import_id"):
        return f"{label} (import #{detail['import_id']})"
    return label
