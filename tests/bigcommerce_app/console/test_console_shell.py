"""Issue 15: the console shell. Alert banners can be acknowledged (stored, audited, per alert; a new alert of the
same kind shows again), the tab bar is one list and lights the page's own tab (the Ordergroove events page has
its tab), and the Overview shows scopes and the lifecycle trail in the merchant's words."""

from __future__ import annotations

import re

import pytest

from bigcommerce_app.console.nav import TABS, tab_active
from bigcommerce_app.models import Alert, AuditEvent
from bigcommerce_app.services import alert_raise, audit
from middleware.plumbing.charts import Series, bar_chart, nice_step

pytestmark = pytest.mark.django_db

REJECT = "Ordergroove rejected recurring order OG-1: Card declined"


def _banners(html: str) -> list[str]:
    return re.findall(r'data-alert-id="(\d+)"', html)


def test_an_acknowledged_alert_leaves_every_page_and_is_audited(client, store, console_token):
    alert = alert_raise(store, "order_reject", REJECT, dedupe_key="og_order_event:OG-1", detail={"event_id": "e1"})
    for path in ("/console/", "/console/settings/", "/console/activity/", "/console/ordergroove-events/"):
        assert _banners(client.get(path, {"t": console_token}).content.decode()) == [str(alert.pk)], path
    html = client.get("/console/activity/", {"t": console_token}).content.decode()
    assert "Ordergroove rejected a recurring order" in html and 'data-acknowledge="' in html  # a label, not a code
    link = re.search(r'<a href="([^"]+)" data-alert-link>See the recurring orders</a>', html)
    assert link and link.group(1).startswith("/console/ordergroove-events/?t=")  # where to look into it

    response = client.post(f"/console/alerts/{alert.pk}/acknowledge", {"t": console_token,
                                                                       "next": "/console/activity/"})
    assert response.status_code == 302 and response["Location"].startswith("/console/activity/?t=")
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.acknowledged_by == store.users.first().email
    assert alert.resolved_at is None  # still open: acknowledging is not fixing
    entry = AuditEvent.objects.get(store=store, kind="alert_acknowledged")
    assert entry.detail["alert_id"] == alert.pk and entry.actor == alert.acknowledged_by
    for path in ("/console/", "/console/settings/", "/console/activity/"):
        assert _banners(client.get(path, {"t": console_token}).content.decode()) == [], path

    # The same condition raised again stays acknowledged; a new alert of the same kind shows again.
    assert alert_raise(store, "order_reject", REJECT, dedupe_key="og_order_event:OG-1",
                       detail={"event_id": "e1"}).pk == alert.pk
    assert _banners(client.get("/console/", {"t": console_token}).content.decode()) == []
    newer = alert_raise(store, "order_reject", "Ordergroove rejected recurring order OG-1: Card expired",
                        dedupe_key="og_order_event:OG-1", detail={"event_id": "e2"})
    assert newer.pk != alert.pk
    assert _banners(client.get("/console/", {"t": console_token}).content.decode()) == [str(newer.pk)]
    alert.refresh_from_db()
    assert alert.resolved_at is not None  # superseded: one open alert per dedupe key


def test_acknowledge_redirects_only_inside_the_console_and_ignores_other_stores(client, store, install_store,
                                                                               console_token):
    other = install_store("xyz789")
    theirs = alert_raise(other, "feed_failed", "The product feed run failed: boom", dedupe_key="feed_failed")
    for target in ("https://evil.example/console/", "//evil.example/x", "/console/api/alerts", "javascript:x"):
        response = client.post(f"/console/alerts/{theirs.pk}/acknowledge", {"t": console_token, "next": target})
        assert response.status_code == 302 and response["Location"].startswith("/console/?t="), target
    theirs.refresh_from_db()
    assert theirs.acknowledged_at is None  # another store's alert is untouched
    assert client.post(f"/console/alerts/{theirs.pk}/acknowledge").status_code == 401
    assert client.get(f"/console/alerts/{theirs.pk}/acknowledge", {"t": console_token}).status_code == 405


def test_the_json_api_lists_and_acknowledges_alerts(client, store, install_store, console_api):
    mine = alert_raise(store, "feed_stale", "The product feed has not reached Ordergroove", severity="error",
                       dedupe_key="feed_stale")
    listed = console_api.get("/console/api/alerts").json()
    assert [a["id"] for a in listed] == [mine.pk] and listed[0]["acknowledged_at"] is None
    body = console_api.post(f"/console/api/alerts/{mine.pk}/acknowledge").json()
    assert body["id"] == mine.pk and body["acknowledged_at"] and body["acknowledged_by"]
    assert console_api.post(f"/console/api/alerts/{mine.pk}/acknowledge").status_code == 200  # harmless twice
    assert AuditEvent.objects.filter(store=store, kind="alert_acknowledged").count() == 1
    theirs = alert_raise(install_store("xyz789"), "feed_failed", "boom", dedupe_key="feed_failed")
    assert console_api.post(f"/console/api/alerts/{theirs.pk}/acknowledge").status_code == 404
    assert Alert.objects.get(pk=theirs.pk).acknowledged_at is None
    assert client.get("/console/api/alerts").status_code == 401
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content.decode()
    assert '"/console/api/alerts/{alert_id}/acknowledge"' in schema and '"/console/api/alerts"' in schema


def test_the_tab_bar_is_one_list_and_lights_the_pages_own_tab(client, store, console_token):
    assert tab_active("/console/ordergroove-events/") == "ordergroove-events"
    assert tab_active("/console/activity/deliveries/5/") == "activity" and tab_active("/console/") == "overview"
    for tab in TABS:
        html = client.get(tab.path, {"t": console_token}).content.decode()
        active = re.findall(r'data-tab="([\w-]+)" class="active" aria-current="page"', html)
        assert active == [tab.key], tab.path
        assert html.count("data-tab=") == len(TABS)
    html = client.get("/console/ordergroove-events/", {"t": console_token}).content.decode()
    assert ">Ordergroove events</a>" in html


def test_the_overview_speaks_the_merchants_words(client, store, console_token):
    store.scope = "store_v2_orders store_v2_transactions_read_only store_brand_new_scope"
    store.save()
    audit(store, "feed_run_requested", actor="owner@example.com", run_id=7)
    audit(store, "connection_checked", actor="owner@example.com", target="sftp", ok=True, message="…")
    html = client.get("/console/", {"t": console_token}).content.decode()
    scopes = re.search(r'<ul class="scope-list" id="scopes">(.*?)</ul>', html, re.S).group(1)
    assert "Orders: modify" in scopes and "Order transactions: read" in scopes
    assert "Store brand new scope" in scopes  # an unknown scope still reads
    trail = re.search(r'<ul class="log" id="audit">(.*?)</ul>', html, re.S).group(1)
    assert "Product feed run requested (run 7)" in trail and "SFTP connection checked: working" in trail
    assert "feed_run_requested" not in re.sub(r'data-kind="\w+"', "", trail)


def test_charts_are_drawn_by_the_server_with_axes_and_nothing_loads_from_outside(client, store, console_token):
    for path, chart_id in (("/console/activity/", "activity-chart"), ("/console/feeds/", "feed-runs-chart"),
                           ("/console/ordergroove-events/", "placements-chart")):
        html = client.get(path, {"t": console_token}).content.decode()
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in html, path
        assert f'<desc id="{chart_id}-desc">' in html and 'data-tick="0"' in html and "Show the numbers" in html
        # Every src/href is this service's own (relative) URL: no CDN, no font or script from elsewhere.
        assert not re.findall(r'(?:src|href)="(?:https?:)?//', html), path


def test_bar_chart_has_round_ticks_counts_and_accessible_text():
    assert [nice_step(n) for n in (0, 3, 4, 9, 17, 40, 230)] == [1, 1, 1, 5, 5, 10, 100]
    chart = bar_chart(["Mar 01", "02", "03"], [Series("webhooks received", [0, 3, 17]),
                                              Series("calls failed", [0, 1, 0], "danger")], title="Per day")
    assert [t["value"] for t in chart["ticks"]] == [0, 5, 10, 15, 20]
    assert chart["ticks"][0]["y"] == chart["axis_bottom"] and chart["ticks"][-1]["y"] == chart["axis_top"]
    tallest = chart["groups"][2]["bars"][0]
    assert tallest["value"] == 17 and tallest["show_value"] and tallest["label"] == "03: 17 webhooks received"
    assert chart["desc"] == "Per day. Totals: 20 webhooks received, 1 calls failed; the busiest category had 17."
    assert chart["rows"][1] == {"category": "02", "values": [3, 1]}
    assert bar_chart(["a"], [Series("x", [0])], title="Empty")["empty"] is True
