"""Incremental feed updates (issue 6 part 5): product and SKU webhooks, subscribed only for stores that turn the
setting on, lead to one debounced feed run through the inbox and the feed run machinery."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bigcommerce_app.inbox.services import inbound_event_process
from bigcommerce_app.models import InboundEvent
from feeds.feed import services
from feeds.feed.handlers import CATALOG_SCOPES
from feeds.models import FeedRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def og_identity(store):
    og = store.og_settings
    og.merchant_id = "M123"
    og.save()
    return og


@pytest.fixture
def incremental(feed_settings):
    feed_settings.incremental_updates_enabled = True
    feed_settings.save()
    return feed_settings


def _deliver(client, fake_bc, store, scope: str, resource_id: int) -> InboundEvent:
    """A product webhook through the real inbox, then processed as the worker does. Each one is a distinct
    event (its own `created_at`, hence its own hash): the inbox would store a repeated hash only once."""
    created_at = int(timezone.now().timestamp()) + InboundEvent.objects.count()
    payload = fake_bc.webhook_payload(store.store_hash, scope, {"type": scope.split("/")[1], "id": resource_id},
                                      created_at=created_at)
    response = client.post("/webhooks/bigcommerce", data=json.dumps(payload).encode(),
                           content_type="application/json", HTTP_X_WEBHOOK_TOKEN=store.webhook_token)
    assert response.status_code == 200
    event = InboundEvent.objects.get(store=store, event_hash=payload["hash"])
    inbound_event_process(event.pk)
    event.refresh_from_db()
    return event


def _hook_scopes(fake_bc, store) -> set[str]:
    return {h["scope"] for h in fake_bc.stores[store.store_hash].hooks.values() if h["is_active"]}


def test_turning_incremental_updates_on_subscribes_the_product_hooks(store, fake_bc, console_api):
    assert not _hook_scopes(fake_bc, store) & set(CATALOG_SCOPES)  # off by default: not subscribed at install
    response = console_api.patch("/console/api/settings", {"incremental_updates_enabled": True})
    assert response.status_code == 200, response.content
    assert set(CATALOG_SCOPES) <= _hook_scopes(fake_bc, store)
    hooks = [h for h in fake_bc.stores[store.store_hash].hooks.values() if h["scope"] in CATALOG_SCOPES]
    assert all(h["headers"] == {"X-Webhook-Token": store.webhook_token} for h in hooks)
    assert all(h["destination"].endswith("/webhooks/bigcommerce") for h in hooks)


def test_turning_incremental_updates_off_deactivates_the_product_hooks(store, fake_bc, console_api):
    assert console_api.patch("/console/api/settings", {"incremental_updates_enabled": True}).status_code == 200
    others = _hook_scopes(fake_bc, store) - set(CATALOG_SCOPES)
    response = console_api.patch("/console/api/settings", {"incremental_updates_enabled": False})
    assert response.status_code == 200, response.content
    assert _hook_scopes(fake_bc, store) == others  # BigCommerce stops sending catalog changes; the rest stay
    assert not store.webhooks.filter(scope__in=CATALOG_SCOPES).exists()  # the console lists needed hooks only
    # On again: the same hooks are re-enabled, none duplicated.
    assert console_api.patch("/console/api/settings", {"incremental_updates_enabled": True}).status_code == 200
    catalog = [h for h in fake_bc.stores[store.store_hash].hooks.values() if h["scope"] in CATALOG_SCOPES]
    assert sorted(h["scope"] for h in catalog) == sorted(CATALOG_SCOPES)
    assert all(h["is_active"] for h in catalog)


def test_a_hook_bigcommerce_would_not_deactivate_stays_listed_with_the_error(store, fake_bc, console_api):
    assert console_api.patch("/console/api/settings", {"incremental_updates_enabled": True}).status_code == 200
    fake_bc.fail("PUT", r"/v3/hooks/\d+$", status=422, count=len(CATALOG_SCOPES))
    assert console_api.patch("/console/api/settings", {"incremental_updates_enabled": False}).status_code == 200
    rows = list(store.webhooks.filter(scope__in=CATALOG_SCOPES))
    assert sorted(r.scope for r in rows) == sorted(CATALOG_SCOPES)
    assert all("deactivating failed" in r.last_error for r in rows)


def test_a_burst_of_product_webhooks_makes_exactly_one_run_after_the_quiet_period(
        client, store, fake_bc, og_identity, incremental, sftp_server):
    product = fake_bc.add_product(store.store_hash, name="Coffee", price=12)
    for scope in ("store/product/updated", "store/product/updated", "store/sku/updated",
                  "store/product/inventory/updated", "store/product/created"):
        assert _deliver(client, fake_bc, store, scope, product["id"]).status == InboundEvent.Status.DONE
    assert InboundEvent.objects.filter(store=store).count() == 5
    now = timezone.now()
    assert services.feed_incremental_tick(now=now) == []  # the catalog is still changing
    [run] = services.feed_incremental_tick(now=now + services.INCREMENTAL_QUIET + timedelta(seconds=1))
    assert run.trigger == FeedRun.Trigger.WEBHOOK and run.status == FeedRun.Status.QUEUED
    assert services.feed_incremental_tick(now=now + timedelta(hours=2)) == []  # nothing pending any more

    # A change while the run is queued stays pending: no second active run, one more run after this one.
    assert _deliver(client, fake_bc, store, "store/sku/updated", product["id"]).status == InboundEvent.Status.DONE
    later = timezone.now() + services.INCREMENTAL_QUIET + timedelta(seconds=1)
    assert services.feed_incremental_tick(now=later) == []
    assert services.feed_run_execute(run.pk, backoff=0).status == FeedRun.Status.SUCCEEDED
    assert "M123.Products.xml" in sftp_server.files()
    [second] = services.feed_incremental_tick(now=later)
    assert FeedRun.objects.filter(store=store).count() == 2 and second.trigger == FeedRun.Trigger.WEBHOOK


def test_a_store_edited_without_pause_still_gets_a_run(client, store, fake_bc, incremental):
    start = timezone.now()
    assert services.catalog_change_record(store, now=start)
    for minute in range(1, 61):  # a change every minute: never quiet
        services.catalog_change_record(store, now=start + timedelta(minutes=minute))
        if minute < 60:
            assert services.feed_incremental_tick(now=start + timedelta(minutes=minute, seconds=30)) == []
    assert len(services.feed_incremental_tick(now=start + services.INCREMENTAL_MAX_WAIT + timedelta(seconds=30))) == 1


def test_product_webhooks_do_nothing_when_incremental_updates_are_off(client, store, fake_bc, feed_settings):
    assert not feed_settings.incremental_updates_enabled
    event = _deliver(client, fake_bc, store, "store/product/updated", 77)
    assert event.status == InboundEvent.Status.SKIPPED
    assert services.feed_incremental_tick(now=timezone.now() + timedelta(days=1)) == []
    assert not FeedRun.objects.filter(store=store).exists()
    feed_settings.refresh_from_db()
    assert feed_settings.catalog_changed_at is None
