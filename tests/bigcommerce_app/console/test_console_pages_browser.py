"""Issue 15, "What it must show", in headless Chromium at the control panel's iframe width: every console page
opened, screenshotted under test-artifacts/console-pages/ and checked by axe-core (no serious or critical
violation: labels, contrast, landmarks, names); the setup checklist of a new store and of a fully set-up one (the
connection checks pressed in the browser); an alert banner acknowledged from the keyboard; the Ordergroove events
page in the tab bar; a visible focus ring and a skip link."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings

from bigcommerce_app.console.auth import console_token_issue
from bigcommerce_app.inbox.services import inbound_event_process
from bigcommerce_app.models import Alert
from bigcommerce_app.services import alert_raise
from feeds.feed import services as feed_services
from feeds.models import FeedRun
from ordergroove.models import Delivery
from ordergroove.sync import services as sync_services
from tests.bigcommerce_app.console.test_console_browser import CHROMIUM, CHROMIUM_ARGS, wait_for
from tests.ordergroove.sync.conftest import Shop

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PAGES = [("overview", "/console/"), ("settings", "/console/settings/"), ("products", "/console/products/"),
         ("feeds", "/console/feeds/"), ("activity", "/console/activity/"),
         ("ordergroove-events", "/console/ordergroove-events/")]
IFRAME_WIDTH = 1000  # the control panel's app iframe on a laptop screen
NARROW_WIDTH = 720


def _serious(results) -> list[str]:
    """axe-core violations of impact serious or critical, one readable line each."""
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


class Console:
    def __init__(self, page, base_url: str, token: str, artifacts: Path):
        from axe_playwright_python.sync_playwright import Axe

        self.page, self.base_url, self.token, self.artifacts, self.axe = page, base_url, token, artifacts, Axe()

    def open(self, path: str, **params) -> None:
        self.page.goto(f"{self.base_url}{path}?{urlencode({'t': self.token, **params})}")
        self.page.locator("main#main").wait_for()

    def check(self, name: str) -> None:
        """Screenshot the whole page, then assert axe-core finds nothing serious on it."""
        self.page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)
        problems = _serious(self.axe.run(self.page))
        assert problems == [], f"{name}: {problems}"

    def states(self) -> dict[str, str]:
        steps = self.page.locator("[data-step]")
        return {steps.nth(i).get_attribute("data-step"): steps.nth(i).get_attribute("data-state")
                for i in range(steps.count())}


@pytest.fixture
def browser_page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                     headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(viewport={"width": IFRAME_WIDTH, "height": 900}).new_page()
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    path = Path(django_settings.TEST_ARTIFACTS_DIR) / "console-pages"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_every_console_page_new_store_then_fully_set_up(live_server, browser_page, artifacts, fake_bc, fake_og,
                                                        store, og_settings, feed_settings):
    og_settings.merchant_id = og_settings.hash_key = ""
    og_settings.save()
    console = Console(browser_page, live_server.url, console_token_issue(store.users.first()), artifacts)

    # --- A new store: every page, and the checklist says what to do first ----------------------------------
    for name, path in PAGES:
        console.open(path)
        current = browser_page.locator('nav.tabs a[aria-current="page"]')
        assert current.count() == 1 and current.get_attribute("data-tab") == name, path
        console.check(f"new-{name}")
    console.open("/console/")
    assert console.states() == {"credentials": "next", "og_connection": "todo", "sftp": "todo", "products": "todo",
                                "feed": "todo", "storefront": "todo", "purchase_post": "todo"}
    assert browser_page.locator("#checklist-progress").inner_text() == "0 of 7 done"
    browser_page.set_viewport_size({"width": NARROW_WIDTH, "height": 900})
    console.check("new-overview-narrow")
    assert browser_page.evaluate("document.documentElement.scrollWidth") <= NARROW_WIDTH  # no sideways scrolling
    browser_page.set_viewport_size({"width": IFRAME_WIDTH, "height": 900})

    # The next step's link leads to the Settings section where it is done.
    browser_page.locator("#checklist-next a").click()
    browser_page.locator("#merchant_id").wait_for()
    assert browser_page.url.endswith("#ordergroove-account") and "/console/settings/?t=" in browser_page.url

    # --- Set it up as a merchant would: credentials saved, both checks pressed in the page ------------------
    from tests.ordergroove.conftest import OG_HASH_KEY, OG_MERCHANT_ID

    browser_page.locator("#merchant_id").fill(OG_MERCHANT_ID)
    browser_page.locator("#hash_key").fill(OG_HASH_KEY)
    browser_page.locator("#save-settings").click()
    browser_page.locator("#saved-banner").wait_for()
    browser_page.locator("#check-ordergroove").click()
    wait_for(lambda: "Working: Ordergroove accepted the credentials" in
             browser_page.locator("#check-ordergroove-result").inner_text(), what="Ordergroove check")
    browser_page.locator("#check-sftp").click()
    wait_for(lambda: "Working: logged in to" in browser_page.locator("#check-sftp-result").inner_text(),
             what="SFTP check")
    console.check("settings-checked")

    shop = Shop(fake_bc, store)  # a subscription product (as an import leaves it) and a storefront order
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    inbound_event_process(shop.event("store/order/created", order["id"]).pk)
    delivery = Delivery.objects.get(merchant_order_id=str(order["id"]), kind="purchase_post")
    sync_services.delivery_attempt(delivery.pk)
    run = feed_services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL, requested_by="owner@example.com")
    assert feed_services.feed_run_execute(run.pk, backoff=0).status == FeedRun.Status.SUCCEEDED

    # --- Fully set up: every step done, every page with data -------------------------------------------------
    console.open("/console/")
    assert set(console.states().values()) == {"done"}
    assert browser_page.locator("#checklist-progress").inner_text() == "7 of 7 done"
    for name, path in PAGES:
        console.open(path)
        console.check(f"set-up-{name}")
    console.open(f"/console/activity/deliveries/{delivery.pk}/")
    assert browser_page.locator('nav.tabs a[aria-current="page"]').get_attribute("data-tab") == "activity"
    console.check("set-up-activity-delivery")
    console.open("/console/activity/")
    chart = browser_page.locator('[data-chart="activity-chart"] svg')
    assert chart.get_attribute("role") == "img"
    assert "1 calls delivered" in browser_page.locator("#activity-chart-desc").text_content()
    browser_page.goto(f"{live_server.url}/console/")  # no token: the refusal page is readable too
    console.check("denied")


def test_alert_acknowledged_from_the_keyboard_and_events_tab(live_server, browser_page, artifacts, store):
    alert = alert_raise(store, "order_reject", "Ordergroove rejected recurring order OG-7: Card declined",
                        dedupe_key="og_order_event:OG-7")
    other = alert_raise(store, "feed_stale", "The product feed has not reached Ordergroove since 02:00.",
                        dedupe_key="feed_stale")
    console = Console(browser_page, live_server.url, console_token_issue(store.users.first()), artifacts)
    console.open("/console/activity/")
    assert browser_page.locator("[data-alert-id]").count() == 2
    console.check("alerts-shown")

    # Keyboard only: the skip link comes first and lands in the main region; focus is visible.
    browser_page.keyboard.press("Tab")
    assert browser_page.evaluate("document.activeElement.className") == "skip-link"
    browser_page.keyboard.press("Enter")
    assert browser_page.evaluate("document.activeElement.id") == "main"
    button = browser_page.locator(f'[data-acknowledge="{alert.pk}"]')
    button.focus()
    assert browser_page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    browser_page.keyboard.press("Enter")
    browser_page.locator(f'[data-alert-id="{alert.pk}"]').wait_for(state="detached")
    assert "/console/activity/" in browser_page.url  # back on the page it was acknowledged from
    assert [int(x) for x in browser_page.locator("[data-alert-id]").evaluate_all(
        "els => els.map(e => e.dataset.alertId)")] == [other.pk]
    acknowledged = Alert.objects.get(pk=alert.pk)
    assert acknowledged.acknowledged_at is not None and acknowledged.resolved_at is None
    console.check("alert-acknowledged")

    # The Ordergroove events page is in the tab bar and lights its own tab.
    browser_page.locator('nav.tabs a[data-tab="ordergroove-events"]').click()
    browser_page.locator("#og-events-title").wait_for()
    assert browser_page.locator('nav.tabs a[aria-current="page"]').inner_text() == "Ordergroove events"
    assert browser_page.locator('[data-alert-id]').count() == 1  # acknowledged stays hidden on every page
