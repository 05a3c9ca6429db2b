"""Issue 15, "Setup checklist": the Overview shows the seven steps from install to the first subscription, each
read from the database, with what is missing and a link to where it is done; a new store sees its next step."""

from __future__ import annotations

import re

import pytest

from bigcommerce_app.console.settings.checklist import setup_checklist
from bigcommerce_app.inbox.services import inbound_event_process
from feeds.feed import services as feed_services
from feeds.feed.selectors import runs_chart
from feeds.models import FeedRun
from ordergroove.models import Delivery
from ordergroove.storefront_script.selectors import storefront_status
from ordergroove.storefront_script.services import storefront_settings_update
from ordergroove.sync import services as sync_services
from tests.feeds.conftest import sftp_server, sftp_server_session  # noqa: F401
from tests.ordergroove.conftest import OG_HASH_KEY
from tests.ordergroove.sync.conftest import Shop

pytestmark = pytest.mark.django_db

STEPS = ["credentials", "og_connection", "sftp", "products", "feed", "storefront", "purchase_post"]


def _states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)" data-state="(\w+)"', html))


def test_a_new_store_sees_exactly_what_to_do_next(client, store, console_token):
    html = client.get("/console/", {"t": console_token}).content.decode()
    assert _states(html) == {"credentials": "next", **{key: "todo" for key in STEPS[1:]}}
    assert "0 of 7 done" in html
    next_line = re.search(r'<p class="lead" id="checklist-next">(.*?)</p>', html, re.S).group(1)
    assert "Enter the credentials</a>" in next_line and "Missing: merchant ID, hash key (from your" in next_line
    # The link goes to the Settings section where the step is done, with the console token before the anchor.
    assert f'href="/console/settings/?t={console_token}#ordergroove-account"' in html.replace("%3A", ":")


def test_a_fully_set_up_store_has_every_step_done(client, console_api, console_token, fake_bc, fake_og, store,
                                                  og_settings, feed_settings, django_capture_on_commit_callbacks):
    # Both checks through the console's own buttons (the JSON API they call), against the fakes.
    assert console_api.post("/console/api/settings/check/ordergroove").json()["ok"] is True
    assert console_api.post("/console/api/settings/check/sftp").json()["ok"] is True
    # A subscription product, a storefront order whose purchase post reaches Ordergroove, and a feed upload.
    shop = Shop(fake_bc, store)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))
    with django_capture_on_commit_callbacks(execute=False):
        inbound_event_process(shop.event("store/order/created", order["id"]).pk)
    sync_services.delivery_attempt(Delivery.objects.get(merchant_order_id=str(order["id"])).pk)
    run = feed_services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL, requested_by="owner@example.com")
    assert feed_services.feed_run_execute(run.pk, backoff=0).status == FeedRun.Status.SUCCEEDED
    # The merchant opens the app: the load installs the storefront script through the fake Scripts API.
    load = client.get("/bigcommerce/load", {"signed_payload_jwt": fake_bc.signed_payload_jwt("abc123")})
    assert load.status_code == 302
    assert storefront_status(store).state == "installed"

    checklist = setup_checklist(store)
    assert checklist["complete"] and [s.key for s in checklist["steps"] if s.done] == STEPS
    html = client.get("/console/", {"t": console_token}).content.decode()
    assert _states(html) == dict.fromkeys(STEPS, "done")
    assert "7 of 7 done" in html and 'data-complete="1"' in html
    assert f"Order #{order['id']} reached Ordergroove." in html and "1 product eligible for subscriptions." in html
    # The feed runs chart counts today's good upload in today's bar.
    chart = runs_chart(store)
    assert [s["total"] for s in chart["series"]] == [1, 0] and chart["rows"][-1]["values"] == [1, 0]


def test_a_check_counts_until_a_setting_it_depended_on_changes(client, console_api, console_token, store,
                                                               og_settings, fake_og):
    verified = re.compile(r'<span data-verified="ordergroove">(.*?)</span>')
    html = client.get("/console/settings/", {"t": console_token}).content.decode()
    assert verified.search(html).group(1) == "Not verified since the credentials were last saved."
    assert console_api.post("/console/api/settings/check/ordergroove").json()["ok"] is True
    assert {s.key: s.state for s in setup_checklist(store)["steps"]}["og_connection"] == "done"
    html = client.get("/console/settings/", {"t": console_token}).content.decode()
    assert verified.search(html).group(1).startswith("Last verified ")  # shown next to the button
    console_api.patch("/console/api/settings", {"free_shipping_enabled": False})  # unrelated: still verified
    assert {s.key: s.state for s in setup_checklist(store)["steps"]}["og_connection"] == "done"
    console_api.patch("/console/api/settings", {"hash_key": OG_HASH_KEY[::-1]})
    step = {s.key: s for s in setup_checklist(store)["steps"]}["og_connection"]
    assert step.state == "next" and "Check Ordergroove connection" in step.detail
    html = client.get("/console/settings/", {"t": console_token}).content.decode()
    assert verified.search(html).group(1).startswith("Not verified")


def test_a_failed_check_does_not_verify(console_api, store, og_settings, fake_og):
    og_settings.hash_key = OG_HASH_KEY[::-1]
    og_settings.save()
    assert console_api.post("/console/api/settings/check/ordergroove").json()["ok"] is False
    steps = {s.key: s for s in setup_checklist(store)["steps"]}
    assert steps["credentials"].done and steps["og_connection"].state == "next"
    # The storefront step waits for the script: the credentials are saved, but nothing is installed at BigCommerce yet.
    assert not steps["storefront"].done and "Storefront script" in steps["storefront"].detail


def test_theme_managed_stores_are_storefront_ready_without_a_script(store, og_settings, fake_bc):
    storefront_settings_update(store, {"mode": "theme_managed"})
    step = {s.key: s for s in setup_checklist(store)["steps"]}["storefront"]
    assert step.done and step.detail.startswith("Theme-managed")
    assert fake_bc.stores["abc123"].scripts == {}
