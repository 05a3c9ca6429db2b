"""Issue 13: the service installs its storefront script (and the Subscription Manager page) through the Scripts
and Pages APIs of the fake BigCommerce, reconciled like the webhooks: install, load, settings change, off,
theme-managed, uninstall, a missing scope, two loads at once."""

from __future__ import annotations

import gzip
import threading

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from bigcommerce_app.console.settings.services import settings_update
from bigcommerce_app.models import StorefrontScript
from bigcommerce_app.services import store_load
from bigcommerce_app.signed_payload import verify_signed_payload_jwt
from bigcommerce_app.storefront_content import storefront_content_reconcile
from bigcommerce_app.tasks import storefront_content_reconcile_all
from middleware.celery import app as celery_app
from ordergroove.storefront_script.asset import script_asset
from ordergroove.storefront_script.selectors import storefront_status
from ordergroove.storefront_script.services import storefront_settings_update
from tests.fakes.bigcommerce import DEFAULT_SCOPE
from tests.feeds.products.conftest import catalog, csv_text  # noqa: F401
from tests.feeds.products.test_import import _good_rows
from tests.ordergroove.conftest import OG_MERCHANT_ID

pytestmark = pytest.mark.django_db


def scripts_at(fake_bc, store_hash="abc123") -> dict[str, dict]:
    return {s["name"]: s for s in fake_bc.stores[store_hash].scripts.values()}


def load(client, fake_bc, store_hash="abc123"):
    response = client.get("/bigcommerce/load", {"signed_payload_jwt": fake_bc.signed_payload_jwt(store_hash)})
    assert response.status_code == 302
    return response


@pytest.fixture
def configured(store, og_settings, fake_bc):
    """An installed store whose Ordergroove merchant is set (the console's save reconciles at once)."""
    settings_update(store, {"merchant_id": OG_MERCHANT_ID, "static_domain": "https://static.example.com"})
    return store


def test_a_store_without_an_ordergroove_merchant_gets_no_script(store, fake_bc):
    assert fake_bc.stores["abc123"].scripts == {}
    assert storefront_status(store).state == "missing"


def test_saving_the_merchant_installs_one_storefront_and_one_checkout_script(configured, fake_bc, settings):
    scripts = scripts_at(fake_bc)
    assert set(scripts) == {"Ordergroove storefront", "Ordergroove checkout"}
    storefront, checkout = scripts["Ordergroove storefront"], scripts["Ordergroove checkout"]
    assert (storefront["visibility"], checkout["visibility"]) == ("storefront", "checkout")
    for script in scripts.values():
        assert script["kind"] == "script_tag" and script["auto_uninstall"] is True
        assert script["consent_category"] == "essential" and script["location"] == "footer"
        assert f"/storefront/{script_asset().version}/ordergroove.js" in script["html"]
        assert f'data-og-merchant="{OG_MERCHANT_ID}"' in script["html"]
        assert f'data-og-client="{settings.BIGCOMMERCE_CLIENT_ID}"' in script["html"]
    assert 'data-og-features="og_auth payment_guard"' in storefront["html"]
    assert fake_bc.stores["abc123"].pages == {}  # the Subscription Manager page is off by default
    assert storefront_status(configured).state == "installed"


def test_reinstall_creates_the_scripts_and_the_page_once(client, configured, fake_bc):
    storefront_settings_update(configured, {"subscription_page_enabled": True})
    client.get("/bigcommerce/auth", fake_bc.issue_code("abc123"))
    assert len(fake_bc.stores["abc123"].scripts) == 2
    pages = list(fake_bc.stores["abc123"].pages.values())
    assert [(p["name"], p["url"], p["body"], p["is_visible"]) for p in pages] == [
        ("Subscriptions", "/account/manage-subscriptions/", '<div id="og-msi"></div>', False)]
    assert 'data-og-msi-path="/account/manage-subscriptions/"' in scripts_at(fake_bc)["Ordergroove storefront"]["html"]


def test_load_recreates_a_script_the_merchant_deleted(client, configured, fake_bc):
    fake_store = fake_bc.stores["abc123"]
    deleted = scripts_at(fake_bc)["Ordergroove checkout"]["uuid"]
    del fake_store.scripts[deleted]
    load(client, fake_bc)
    assert set(scripts_at(fake_bc)) == {"Ordergroove storefront", "Ordergroove checkout"}
    row = StorefrontScript.objects.get(store=configured, key="checkout")
    assert row.bc_uuid != deleted and row.last_action.startswith("re-created")


def test_a_duplicate_made_elsewhere_is_removed_on_load(client, configured, fake_bc):
    original = scripts_at(fake_bc)["Ordergroove storefront"]
    copy = "00000000-0000-4000-8000-000000000001"
    fake_bc.stores["abc123"].scripts[copy] = {**original, "uuid": copy}
    load(client, fake_bc)
    assert [s["name"] for s in fake_bc.stores["abc123"].scripts.values()].count("Ordergroove storefront") == 1


def test_a_settings_change_updates_the_registered_tag(configured, fake_bc):
    uuid_before = scripts_at(fake_bc)["Ordergroove storefront"]["uuid"]
    settings_update(configured, {"static_domain": "https://static.ordergroove.example"})
    script = scripts_at(fake_bc)["Ordergroove storefront"]
    assert script["uuid"] == uuid_before and 'data-og-static="https://static.ordergroove.example"' in script["html"]
    assert StorefrontScript.objects.get(store=configured, key="storefront").last_action == "updated"


def test_a_new_script_version_shows_outdated_until_the_next_reconcile(configured, fake_bc):
    StorefrontScript.objects.filter(store=configured, key="storefront").update(html_digest="old")
    assert storefront_status(configured).state == "outdated"
    storefront_content_reconcile(configured)
    assert storefront_status(configured).state == "installed"


@pytest.mark.parametrize("mode", ["off", "theme_managed"])
def test_off_and_theme_managed_remove_everything(configured, fake_bc, mode):
    storefront_settings_update(configured, {"subscription_page_enabled": True})
    assert fake_bc.stores["abc123"].pages
    storefront_settings_update(configured, {"mode": mode})
    assert fake_bc.stores["abc123"].scripts == {} and fake_bc.stores["abc123"].pages == {}
    assert storefront_status(configured).state == "disabled"
    assert set(StorefrontScript.objects.filter(store=configured).values_list("state", flat=True)) == {"removed"}


def test_switching_off_the_checkout_guards_removes_only_the_checkout_script(configured, fake_bc):
    storefront_settings_update(configured, {"checkout_guards_enabled": False})
    assert set(scripts_at(fake_bc)) == {"Ordergroove storefront"}


def test_uninstall_records_that_bigcommerce_removed_the_scripts(client, configured, fake_bc):
    response = client.get("/bigcommerce/uninstall", {"signed_payload_jwt": fake_bc.signed_payload_jwt("abc123")})
    assert response.status_code == 200
    rows = StorefrontScript.objects.filter(store=configured)
    assert rows.count() == 2 and all(r.state == "removed" and not r.bc_uuid for r in rows)
    # auto_uninstall: true is what makes BigCommerce delete them itself.
    assert all(s["auto_uninstall"] for s in fake_bc.stores["abc123"].scripts.values())


def test_a_store_without_the_checkout_scope_gets_a_console_message_and_the_rest_works(
        client, install_store, og_settings, fake_bc, console_token):
    store = install_store(scope=DEFAULT_SCOPE.replace(" store_content_checkout", ""))
    settings_update(store, {"merchant_id": OG_MERCHANT_ID})
    assert set(scripts_at(fake_bc)) == {"Ordergroove storefront"}
    row = StorefrontScript.objects.get(store=store, key="checkout")
    assert "store_content_checkout" in row.last_error and "Checkout content" in row.last_error
    status = storefront_status(store)
    assert status.state == "missing" and "store_content_checkout" in status.detail
    page = client.get("/console/storefront/", {"t": console_token})
    assert page.status_code == 200 and b"store_content_checkout" in page.content


def test_a_store_without_the_content_scope_names_it(install_store, og_settings, fake_bc):
    scope = DEFAULT_SCOPE.replace(" store_content_checkout", "").replace(" store_v2_content", "")
    store = install_store(scope=scope)
    settings_update(store, {"merchant_id": OG_MERCHANT_ID})
    assert fake_bc.stores["abc123"].scripts == {}
    assert "store_v2_content" in storefront_status(store).detail


def test_the_script_file_is_versioned_and_cached_for_a_year(client):
    asset = script_asset()
    response = client.get(f"/storefront/{asset.version}/ordergroove.js", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == asset.content
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Type"].startswith("application/javascript")
    stale = client.get("/storefront/0123456789abcdef/ordergroove.js")
    assert stale.status_code == 200 and stale.content == asset.content
    assert stale["Cache-Control"] == "public, max-age=300"
    assert client.get(f"/storefront/{asset.version}/ordergroove.js",
                      HTTP_IF_NONE_MATCH=f'"{asset.version}"').status_code == 304


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_loads_never_create_two_scripts(configured, fake_bc):
    """Two control-panel users open the app at the same moment after the merchant deleted the scripts."""
    fake_bc.stores["abc123"].scripts.clear()
    fake_bc.fail("GET", r"/v3/content/scripts$", status=0, delay=0.3, count=2)  # both list before either creates
    payload = verify_signed_payload_jwt(fake_bc.signed_payload_jwt("abc123"))
    barrier, errors = threading.Barrier(2), []

    def open_app():
        try:
            barrier.wait()
            store_load(payload)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_app) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    names = sorted(s["name"] for s in fake_bc.stores["abc123"].scripts.values())
    assert names == ["Ordergroove checkout", "Ordergroove storefront"]


def test_the_fake_scripts_and_pages_apis_validate_as_the_reference_says(fake_bc):
    """What the fake refuses (so the service's requests are checked against the reference, not just accepted)."""
    store = fake_bc.add_store("xyz789")
    store.access_token = "t0ken"
    store.scope = "store_v2_content"
    url, headers = f"{fake_bc.url}/stores/xyz789/v3/content", {"X-Auth-Token": "t0ken"}
    tag = {"name": "x", "kind": "script_tag", "html": "<script src='a.js'></script>", "visibility": "storefront"}
    assert requests.post(f"{url}/scripts", json=tag, headers=headers, timeout=5).status_code == 200
    for bad in ({**tag, "html": "<script></script><script></script>"}, {**tag, "visibility": "everywhere"},
                {**tag, "consent_category": "maybe"}, {**tag, "name": ""}, {**tag, "html": "x" * 70000}):
        assert requests.post(f"{url}/scripts", json=bad, headers=headers, timeout=5).status_code == 422, bad
    checkout = requests.post(f"{url}/scripts", json={**tag, "visibility": "checkout"}, headers=headers, timeout=5)
    assert checkout.status_code == 403 and "store_content_checkout" in checkout.text
    page = {"name": "P", "type": "page", "body": "<div></div>", "url": "/p/"}
    assert requests.post(f"{url}/pages", json=page, headers=headers, timeout=5).status_code == 201
    assert requests.post(f"{url}/pages", json=page, headers=headers, timeout=5).status_code == 422  # unique name
    store.scope = ""
    assert requests.get(f"{url}/scripts", headers=headers, timeout=5).status_code == 403


def test_the_daily_task_puts_back_what_the_merchant_deleted(configured, fake_bc):
    fake_bc.stores["abc123"].scripts.clear()
    assert storefront_content_reconcile_all() == 1
    assert set(scripts_at(fake_bc)) == {"Ordergroove storefront", "Ordergroove checkout"}


def test_a_product_csv_import_brings_its_one_time_options_to_the_checkout_script(
        configured, fake_bc, console_api, catalog, django_capture_on_commit_callbacks):  # noqa: F811
    """The checkout script's tag lists the one-time options of the imported frequency tables, so an import (or a
    rollback) queues a reconcile: the checkout guards see a new "Once" option without waiting for the next load."""
    assert "Once" not in scripts_at(fake_bc)["Ordergroove checkout"]["html"]
    celery_app.conf.task_always_eager = True  # the queued reconcile runs in this process, for real
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = console_api.post("/console/api/products/imports", {"file": SimpleUploadedFile(
                "products.csv", csv_text(_good_rows()).encode(), content_type="text/csv")})
    finally:
        celery_app.conf.task_always_eager = False
    assert response.status_code == 201, response.json()
    assert '&quot;Once&quot;' in scripts_at(fake_bc)["Ordergroove checkout"]["html"]
    assert storefront_status(configured).state == "installed"
