"""Issue 13 in headless Chromium: the storefront script the service installed through the Scripts API, on the
fake storefront's Cornerstone pages and One-Page Checkout."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from ordergroove import signatures
from ordergroove.storefront_script.services import storefront_settings_update
from tests.ordergroove.conftest import OG_HASH_KEY
from tests.ordergroove.storefront_script.conftest import CHROMIUM, NON_SUBSCRIBER, STORE, SUBSCRIBER

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                       reason="Debian chromium is not installed (.ci/run installs it)"),
]

MSI_PATH = "/account/manage-subscriptions/"


def screenshot(page, name: str) -> None:
    artifacts = Path(django_settings.TEST_ARTIFACTS_DIR)
    artifacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts / f"storefront-script-{name}.png"), full_page=True)


def test_the_pages_carry_only_the_script_the_service_registered(shop, shopper, fake_bc):
    fake_bc.stores[STORE].cookie_consent = True  # a consent banner drops only "unknown"-category scripts
    one = shopper()
    one.visit("/")
    tags = one.page.eval_on_selector_all("script[data-og-app]", "els => els.map(e => e.dataset.ogPage)")
    assert tags == ["storefront"]
    assert [s["name"] for s in fake_bc.stores[STORE].scripts.values()] == ["Ordergroove storefront",
                                                                          "Ordergroove checkout"]


def test_og_auth_guest_login_fresh_pages_and_logout(shop, shopper):
    one = shopper()
    one.visit("/")
    assert one.cookie() is None and one.service_requests == []  # a guest: nothing set, the service not called

    started = int(time.time())
    one.log_in(SUBSCRIBER["email"])
    one.page.wait_for_function("document.cookie.indexOf('og_auth=') >= 0", timeout=15_000)
    cookie = one.cookie()
    customer, ts, signature = cookie["value"].split("|")
    assert customer == str(SUBSCRIBER["id"]) and abs(int(ts) - started) < 60
    assert signatures.signature_verify(customer, ts, signature, OG_HASH_KEY)
    assert cookie["secure"] and cookie["path"] == "/" and not cookie["httpOnly"]
    assert 1.5 * 86400 < cookie["expires"] - time.time() <= 2 * 86400 + 60  # seed 002: two days
    assert len(one.signature_calls()) == 1

    for path in ("/", "/account.php?action=payment_methods", "/cart.php"):
        one.visit(path)
    assert len(one.signature_calls()) == 1  # fresh cookie: no call on the next page views
    assert one.cookie()["value"] == cookie["value"]

    one.page.goto(shop.url + "/login.php?action=logout")
    one.settle()
    one.page.wait_for_function("document.cookie.indexOf('og_auth=') < 0", timeout=15_000)
    assert one.cookie() is None


def test_a_stale_cookie_is_signed_again_once(shop, shopper):
    one = shopper()
    one.log_in(SUBSCRIBER["email"])
    one.page.wait_for_function("document.cookie.indexOf('og_auth=') >= 0", timeout=15_000)
    old_ts = int(time.time()) - 3700
    one.context.add_cookies([{"name": "og_auth", "value": f"{SUBSCRIBER['id']}|{old_ts}|stale", "url": shop.url,
                              "secure": True}])
    one.service_requests.clear()
    one.visit("/")
    one.page.wait_for_function(f"document.cookie.indexOf('|{old_ts}|') < 0", timeout=15_000)
    assert len(one.signature_calls()) == 1
    customer, ts, signature = one.cookie()["value"].split("|")
    assert signatures.signature_verify(customer, ts, signature, OG_HASH_KEY)


def test_subscription_manager_page_for_a_guest_and_a_shopper(shop, shopper, fake_bc, fake_og):
    storefront_settings_update(shop.store_row, {"subscription_page_enabled": True})
    assert [p["url"] for p in fake_bc.stores[STORE].pages.values()] == [MSI_PATH]

    one = shopper()
    one.page.goto(shop.url + MSI_PATH)
    one.page.wait_for_url("**/login.php?from=*", timeout=15_000)  # a guest is sent to log in
    assert not fake_og.requests_to("GET", r"/msi\.js$")
    one.log_in(SUBSCRIBER["email"])
    assert one.page.url == shop.url + MSI_PATH  # and comes back
    one.page.wait_for_selector("#og-msi[data-og-msi-status]", timeout=15_000)
    assert one.page.get_attribute("#og-msi", "data-og-msi-status") == "valid"
    assert one.page.get_attribute("#og-msi", "data-og-msi-customer") == str(SUBSCRIBER["id"])
    assert fake_og.requests_to("GET", r"/msi\.js$")
    screenshot(one.page, "subscription-manager")

    one.visit("/account.php")
    link = one.page.locator(f'.navBar--account a.navBar-action[href="{MSI_PATH}"]')
    assert link.text_content() == "Subscriptions"


def _delete_default_card(one) -> None:
    one.visit("/account.php?action=payment_methods")
    one.page.on("dialog", lambda dialog: dialog.accept())  # the theme's own "Are you sure?"
    one.page.click("#delete-0")


def test_a_subscriber_cannot_delete_the_default_card(shop, shopper, fake_bc):
    one = shopper()
    one.log_in(SUBSCRIBER["email"])
    _delete_default_card(one)
    one.page.wait_for_selector("[data-og-alert]", timeout=15_000)
    assert "active subscriptions" in one.page.text_content("[data-og-alert]")
    screenshot(one.page, "payment-methods-blocked")
    assert len(fake_bc.stores[STORE].instruments[SUBSCRIBER["id"]]) == 1


def test_a_non_subscriber_deletes_the_default_card(shop, shopper, fake_bc):
    one = shopper()
    one.log_in(NON_SUBSCRIBER["email"])
    _delete_default_card(one)
    one.page.wait_for_selector(".alertBox--info", timeout=15_000)  # the list is empty after the reload
    assert fake_bc.stores[STORE].instruments[NON_SUBSCRIBER["id"]] == []


def _checkout(one, shop, product: dict, option: str | None) -> None:
    query = f"/cart.php?action=add&product_id={product['id']}"
    if option:
        modifier = product["modifiers"][0]
        value = next(v for v in modifier["option_values"] if v["label"] == option)
        query += f"&attribute[{modifier['id']}]={value['id']}"
    one.page.goto(shop.url + query)
    one.page.goto(shop.url + "/checkout")
    assert one.page.url == shop.url + "/checkout", one.page.content()[:2000]
    one.page.wait_for_selector("#checkout-app[data-rendered]", timeout=15_000)
    one.settle()


def test_checkout_with_a_subscription_item(shop, shopper):
    one = shopper()
    _checkout(one, shop, shop.dog_food, "Every 1 month")
    page = one.page
    page.wait_for_selector("html[data-og-subscription-cart]", timeout=15_000)
    page.wait_for_function("!document.querySelector('[data-test=\"payment-method-braintreepaypal\"]').offsetParent")
    for hidden in ('[data-test="payment-method-braintreepaypal"]', '[data-test="payment-method-amazonpay"]',
                   "#checkout-customer-continue", ".checkoutRemote", "#checkout-payment-continue"):
        assert page.is_hidden(hidden), hidden
    assert page.is_visible('[data-test="payment-method-braintree"]') and page.is_checked("#radio-braintree")
    assert page.is_visible("[data-og-login-note]") and page.is_visible("#checkout-customer-login")
    assert page.is_checked('input[name="shouldSaveInstrument"]')
    screenshot(page, "checkout-guest-subscription")

    page.click("#checkout-customer-login")  # the guest signs in and comes back to the checkout
    one.log_in(SUBSCRIBER["email"])
    assert page.url == shop.url + "/checkout"
    page.wait_for_selector("#checkout-app[data-rendered]", timeout=15_000)
    page.wait_for_selector("html[data-og-subscription-cart]", timeout=15_000)
    page.wait_for_function("document.querySelector('input[name=\"shouldSaveInstrument\"]').checked")
    for hidden in ('[data-test="sign-out-link"]', "button.instrumentModal-trigger",
                   '[data-test="payment-method-braintreepaypal"]'):
        assert page.is_hidden(hidden), hidden
    assert page.is_visible("#checkout-payment-continue")


@pytest.mark.parametrize("option", [None, "One-time purchase"])
def test_checkout_without_a_subscription_item_is_untouched(shop, shopper, option):
    one = shopper()
    one.log_in(NON_SUBSCRIBER["email"])
    _checkout(one, shop, shop.dog_food if option else shop.leash, option)
    page = one.page
    assert page.get_attribute("html", "data-og-subscription-cart") is None
    for visible in ('[data-test="payment-method-braintreepaypal"]', '[data-test="payment-method-amazonpay"]',
                    '[data-test="sign-out-link"]', "button.instrumentModal-trigger", "#checkout-payment-continue"):
        assert page.is_visible(visible), visible
    assert not page.is_checked('input[name="shouldSaveInstrument"]')


def test_the_store_keeps_selling_when_the_service_is_down(shop, shopper, live_service):
    one = shopper()
    one.log_in(SUBSCRIBER["email"])
    one.page.wait_for_function("document.cookie.indexOf('og_auth=') >= 0", timeout=15_000)
    live_service.server.shutdown()
    live_service.server.server_close()
    one.context.clear_cookies(name="og_auth")
    add_leash = f"/cart.php?action=add&product_id={shop.leash['id']}"
    for path in ("/", "/account.php?action=payment_methods", add_leash):
        one.page.goto(shop.url + path)
        one.page.wait_for_load_state("networkidle")
    assert one.page.is_visible(".cart-actions a")  # the theme's page, working: the cart goes on to checkout
    errors = [line for line in one.console if line.startswith("[Ordergroove]")]
    assert len(errors) <= 3  # at most once per page view, never a broken page


def test_the_storefront_tab_in_chromium(shop, chromium, live_service, fake_bc):
    """The merchant's side: state, switches, and nothing serious for axe-core."""
    from axe_playwright_python.sync_playwright import Axe

    from bigcommerce_app.console.auth import console_token_issue

    token = console_token_issue(shop.store_row.users.order_by("pk").first())
    context = chromium.new_context(viewport={"width": 1000, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{live_service}/console/storefront/?t={token}")
        assert page.text_content("#storefront-state").strip() == "installed"
        assert page.get_attribute('nav.tabs a[aria-current="page"]', "data-tab") == "storefront"
        screenshot(page, "console-tab")
        violations = [v["id"] for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        assert violations == []
        page.uncheck('input[name="checkout_guards_enabled"]')
        with page.expect_navigation():
            page.click("#save-storefront")
        assert page.is_visible("#saved-banner")
        assert [s["name"] for s in fake_bc.stores[STORE].scripts.values()] == ["Ordergroove storefront"]
    finally:
        context.close()
