"""The Overview's setup checklist (selectors only): the seven steps from install to the first subscription, each
read from the database, with what is missing and the page where it is done. A new store sees the next step.

Connection checks are recorded in the audit trail (`connection_checked`, with `target` and `ok`); a check counts
as long as no later save changed a setting it depended on, so a merchant who edits the hash key after a good
check is asked to check again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bigcommerce_app.console.settings.selectors import settings_rows
from bigcommerce_app.models import AuditEvent, Store
from feeds.models import FeedRun, FeedSettings, ProductSettingsImport, ProductSubscriptionSetting
from ordergroove.models import Delivery, OrdergrooveSettings, StorefrontSettings
from ordergroove.store_settings.selectors import storefront_settings_get
from ordergroove.storefront_script.selectors import storefront_status

DONE, NEXT, TODO = "done", "next", "todo"

# The settings each check depends on (a later change of any of them voids the check).
OG_CHECK_FIELDS = frozenset({"merchant_id", "hash_key", "api_url", "environment"})
SFTP_CHECK_FIELDS = frozenset({"sftp_host", "sftp_port", "sftp_username", "sftp_password", "sftp_private_key",
                               "sftp_host_key"})
DELIVERED = (Delivery.Status.SUCCEEDED, Delivery.Status.DUPLICATE, Delivery.Status.PARTIAL)


@dataclass
class Step:
    key: str
    title: str
    done: bool
    detail: str  # when done: what proves it; otherwise: what is missing
    action: str  # the link's text
    path: str  # the console page (and anchor) where the step is done
    state: str = TODO


def check_passed(store: Store, target: str, fields: frozenset[str]) -> AuditEvent | None:
    """The latest check of `target` when it succeeded and no later settings save touched `fields`."""
    check = (AuditEvent.objects.filter(store=store, kind="connection_checked", detail__target=target)
             .order_by("-created_at").first())
    if check is None or not check.detail.get("ok"):
        return None
    saves = AuditEvent.objects.filter(store=store, kind="settings_updated", created_at__gt=check.created_at)
    for save in saves.only("detail")[:500]:
        if fields & set(save.detail.get("fields") or ()):
            return None
    return check


def checks_verified(store: Store) -> dict[str, AuditEvent | None]:
    """The standing successful check of each connection (None: never, failed last, or voided by a later save)."""
    return {"ordergroove": check_passed(store, "ordergroove", OG_CHECK_FIELDS),
            "sftp": check_passed(store, "sftp", SFTP_CHECK_FIELDS)}


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _credentials(og: OrdergrooveSettings) -> Step:
    missing = [label for label, value in (("merchant ID", og.merchant_id), ("hash key", og.hash_key),
                                          ("API endpoint", og.api_url)) if not value]
    return Step("credentials", "Ordergroove credentials saved", not missing,
                f"Merchant {og.merchant_id} with its hash key." if not missing
                else f"Missing: {', '.join(missing)} (from your Ordergroove representative).",
                "Enter the credentials", "/console/settings/#ordergroove-account")


def _og_connection(store: Store) -> Step:
    check = check_passed(store, "ordergroove", OG_CHECK_FIELDS)
    return Step("og_connection", "Ordergroove connection verified", check is not None,
                f"Ordergroove accepted a signed request on {_when(check.created_at)}." if check
                else "Press “Check Ordergroove connection” after saving the credentials.",
                "Check the connection", "/console/settings/#ordergroove-endpoints")


def _sftp(store: Store, fs: FeedSettings) -> Step:
    check = check_passed(store, "sftp", SFTP_CHECK_FIELDS)
    if check:
        detail = f"Logged in and listed /incoming on {_when(check.created_at)}."
    elif not fs.sftp_host or not fs.sftp_username:
        detail = "Enter the SFTP server, user name and password or key Ordergroove gave you."
    else:
        detail = "Press “Check SFTP connection” to log in and pin the server's key."
    return Step("sftp", "SFTP verified", check is not None, detail, "Set up SFTP", "/console/settings/#sftp")


def _products(store: Store) -> Step:
    eligible = ProductSubscriptionSetting.objects.filter(store=store, autoship_eligible=True).count()
    imported = ProductSettingsImport.objects.filter(store=store, status=ProductSettingsImport.Status.APPLIED).exists()
    if eligible:
        detail = f"{eligible} product{'s' if eligible != 1 else ''} eligible for subscriptions."
    elif imported:
        detail = "The imported file marks no product Autoship Eligible: set TRUE on at least one and import again."
    else:
        detail = "Export the product CSV, mark the subscription products Autoship Eligible, and import it."
    return Step("products", "Products configured", eligible > 0, detail, "Import the product CSV",
                "/console/products/")


def _feed(store: Store) -> Step:
    run = (FeedRun.objects.filter(store=store, status=FeedRun.Status.SUCCEEDED).order_by("-finished_at")
           .only("finished_at").first())
    return Step("feed", "First product feed uploaded", run is not None,
                f"Last good upload {_when(run.finished_at)}." if run and run.finished_at
                else "Press “Run now” once SFTP works (the schedule then keeps it fresh).",
                "Run the feed", "/console/feeds/")


def storefront_ready(store: Store, og: OrdergrooveSettings) -> tuple[bool, str]:
    """Whether shoppers get Ordergroove on the storefront: the signature endpoint can sign (merchant ID and hash
    key saved) and either the service's storefront script is installed at BigCommerce or the merchant chose
    theme-managed mode (seed 002's theme edits do the work)."""
    if not (og.merchant_id and og.hash_key):
        return False, "Needs the merchant ID and hash key: the storefront's signature endpoint signs with them."
    status = storefront_status(store)
    if status.ready:
        return True, "The storefront script is installed at BigCommerce; no theme edits needed."
    if status.state == "outdated":  # installed and working; a changed setting reaches it at the next reconcile
        return True, "The storefront script is installed at BigCommerce; an update waits for the next reconcile."
    if storefront_settings_get(store).mode == StorefrontSettings.Mode.THEME_MANAGED:
        return True, "Theme-managed: the theme's own Ordergroove code (seed 002) calls the storefront endpoints."
    return False, f"Storefront script {status.state}: {status.detail}"


def _storefront(store: Store, og: OrdergrooveSettings) -> Step:
    ready, detail = storefront_ready(store, og)
    return Step("storefront", "Storefront ready", ready, detail, "Open Storefront", "/console/storefront/")


def _first_purchase_post(store: Store) -> Step:
    delivery = (Delivery.objects.filter(store=store, kind=Delivery.Kind.PURCHASE_POST, status__in=DELIVERED)
                .order_by("completed_at").only("merchant_order_id", "completed_at").first())
    return Step("purchase_post", "First purchase post delivered", delivery is not None,
                f"Order #{delivery.merchant_order_id} reached Ordergroove." if delivery
                else "Place a test order on the storefront: it is sent to Ordergroove and shows under Activity.",
                "See Activity", "/console/activity/?kind=purchase_post")


def setup_checklist(store: Store) -> dict:
    """The steps in order; the first step not done is `next`. `complete` when every step is done."""
    og, fs = settings_rows(store)
    steps = [_credentials(og), _og_connection(store), _sftp(store, fs), _products(store), _feed(store),
             _storefront(store, og), _first_purchase_post(store)]
    next_step = next((step for step in steps if not step.done), None)
    for step in steps:
        step.state = DONE if step.done else (NEXT if step is next_step else TODO)
    done = sum(step.done for step in steps)
    return {"steps": steps, "done": done, "total": len(steps), "complete": next_step is None,
            "next": next_step}
