"""A feed run end to end: fake BigCommerce catalog → XML files → real SFTP server on loopback."""

from __future__ import annotations

import threading

import defusedxml.ElementTree as ET
import paramiko
import pytest

from bigcommerce_app.models import Alert
from feeds.feed import services
from feeds.models import FeedRun, ProductSubscriptionSetting

pytestmark = pytest.mark.django_db

SPECIAL_NAME = 'Fish & Chips <"Deluxe"> ]]> café ☕'


@pytest.fixture
def og_identity(store):
    og = store.og_settings
    og.merchant_id = "M123"
    og.incentive_groups_enabled = True
    og.global_offer_id = "OFFER9"
    og.save()
    return og


@pytest.fixture
def catalog(fake_bc, store):
    """Simple products, variants, stock states, images good and bad, special characters, (in)eligibility."""
    h = store.store_hash
    p = {}
    p["coffee"] = fake_bc.add_product(h, name="Plain Coffee", price=12.5, sku="COF-1",
                                      image_url="https://cdn.example.com/coffee.jpg", categories=[11],
                                      custom_url="/plain-coffee/")
    p["tee"] = fake_bc.add_product(h, name="Tee", price=20, sku="TEE", inventory_tracking="variant",
                                   image_url="https://cdn.example.com/tee.jpg", categories=[10, 99],
                                   variants=[{"sku": "TEE-S", "price": 19.999, "inventory_level": 5,
                                              "option_values": [{"label": "Small", "option_display_name": "Size"}]},
                                             {"sku": "TEE-L", "price": 21, "inventory_level": 0,
                                              "image_url": "https://cdn.example.com/tee-l.jpg",
                                              "option_values": [{"label": "Large", "option_display_name": "Size"}]}])
    p["tracked_out"] = fake_bc.add_product(h, name="Filters", price=3, sku="FIL", inventory_tracking="product",
                                           inventory_level=0, image_url="https://cdn.example.com/f.jpg")
    p["no_image"] = fake_bc.add_product(h, name="No Image", price=1, sku="NOI")
    p["http_image"] = fake_bc.add_product(h, name="Http Image", price=2, sku="HTI",
                                          image_url="http://cdn.example.com/insecure.jpg")
    p["special"] = fake_bc.add_product(h, name=SPECIAL_NAME, price=4, sku="SPC",
                                       image_url="https://cdn.example.com/s.jpg", custom_url="/fish-chips/")
    p["gone"] = fake_bc.add_product(h, name="Old Blend", price=9, sku="OLD", image_url="https://cdn.example.com/o.jpg")
    fake = fake_bc.stores[h]
    fake.trees = [{"id": 1, "name": "Default", "channels": [1]}]
    fake.tree_categories[1] = [{"id": 10, "parent_id": 0, "depth": 1, "path": [10], "name": "Shop All",
                                "is_visible": True, "url": "/shop-all/",
                                "children": [{"id": 11, "parent_id": 10, "depth": 2, "path": [10, 11],
                                              "name": "Kitchen & Bath", "is_visible": False,
                                              "url": "/shop-all/kitchen/", "children": []}]}]
    freq = [{"name": "One-time", "option_id": 1, "every": 0, "every_period": 0, "is_default": False},
            {"name": "Every 1 month", "option_id": 2, "every": 1, "every_period": 3, "is_default": True}]
    one_time_default = [{"name": "One-time", "option_id": 1, "every": 0, "every_period": 0, "is_default": True}]
    ProductSubscriptionSetting.objects.create(store=store, bc_product_id=p["coffee"]["id"], autoship_eligible=True,
                                              frequencies=freq)
    ProductSubscriptionSetting.objects.create(store=store, bc_product_id=p["tee"]["id"], autoship_eligible=True,
                                              frequencies=one_time_default)
    ProductSubscriptionSetting.objects.create(store=store, bc_product_id=p["no_image"]["id"],
                                              autoship_eligible=False, frequencies=freq)
    ProductSubscriptionSetting.objects.create(store=store, bc_product_id=p["gone"]["id"], autoship_eligible=True,
                                              discontinued=True, frequencies=freq)
    return p


def run_feed(store, **kwargs) -> FeedRun:
    run = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL, requested_by="merchant@example.com")
    return services.feed_run_execute(run.pk, backoff=0, **kwargs)


def parse_products(xml: bytes) -> dict[str, dict]:
    root = ET.fromstring(xml)
    assert root.tag == "products"
    out = {}
    for product in root:
        assert product.tag == "product"
        fields = {}
        for child in product:
            assert (child.text or len(child)), f"empty element {child.tag}"  # never empty / self-closing
            if child.tag == "groups":
                fields["groups"] = [(g.get("type"), g.text) for g in child]
            elif child.tag == "extra_data":
                fields["extra_data"] = {f.get("key"): f.text for f in child}
            else:
                fields[child.tag] = child.text
        out[fields["product_id"]] = fields
    return out


def test_run_uploads_exactly_the_expected_feed(store, og_identity, catalog, feed_settings, sftp_server):
    run = run_feed(store)
    assert run.status == FeedRun.Status.SUCCEEDED, run.error
    assert sftp_server.files() == ["M123.Categories.xml", "M123.Products.xml"]
    raw = sftp_server.read("/incoming/M123.Products.xml")
    assert b"<![CDATA[" in raw and b"/>" not in raw
    products = parse_products(raw)
    c, t, f = catalog["coffee"], catalog["tee"], catalog["tracked_out"]
    shop = "https://store-abc123.mybigcommerce.com"
    incentive = [("incentive", "OFFER9")]

    def pid(product, index=0):
        return f"{product['id']}_{product['variants'][index]['id']}"

    assert products == {
        pid(c): {"name": "Plain Coffee", "product_id": pid(c), "sku": "COF-1", "groups": incentive,
                 "price": "12.50", "details_url": f"{shop}/plain-coffee/",
                 "image_url": "https://cdn.example.com/coffee.jpg", "autoship_eligible": "1", "in_stock": "1",
                 "every": "1", "every_period": "3"},
        pid(t, 0): {"name": "Tee - Small", "product_id": pid(t, 0), "sku": "TEE-S", "groups": incentive,
                    "price": "20.00", "details_url": f"{shop}/tee/", "image_url": "https://cdn.example.com/tee.jpg",
                    "autoship_eligible": "1", "in_stock": "1", "extra_data": {"variant_name": "Small"}},
        pid(t, 1): {"name": "Tee - Large", "product_id": pid(t, 1), "sku": "TEE-L", "groups": incentive,
                    "price": "21.00", "details_url": f"{shop}/tee/",
                    "image_url": "https://cdn.example.com/tee-l.jpg", "autoship_eligible": "1", "in_stock": "0",
                    "extra_data": {"variant_name": "Large"}},
        pid(f): {"name": "Filters", "product_id": pid(f), "sku": "FIL", "groups": incentive, "price": "3.00",
                 "details_url": f"{shop}/filters/", "image_url": "https://cdn.example.com/f.jpg",
                 "autoship_eligible": "0", "in_stock": "0"},
        pid(catalog["no_image"]): {"name": "No Image", "product_id": pid(catalog["no_image"]), "sku": "NOI",
                                   "groups": incentive, "price": "1.00", "details_url": f"{shop}/no-image/",
                                   "autoship_eligible": "0", "in_stock": "1"},
        pid(catalog["http_image"]): {"name": "Http Image", "product_id": pid(catalog["http_image"]), "sku": "HTI",
                                     "groups": incentive, "price": "2.00", "details_url": f"{shop}/http-image/",
                                     "autoship_eligible": "0", "in_stock": "1"},
        pid(catalog["special"]): {"name": SPECIAL_NAME, "product_id": pid(catalog["special"]), "sku": "SPC",
                                  "groups": incentive, "price": "4.00", "details_url": f"{shop}/fish-chips/",
                                  "image_url": "https://cdn.example.com/s.jpg", "autoship_eligible": "0",
                                  "in_stock": "1"},
        pid(catalog["gone"]): {"name": "Old Blend", "product_id": pid(catalog["gone"]), "sku": "OLD",
                               "groups": incentive, "price": "9.00", "details_url": f"{shop}/old-blend/",
                               "image_url": "https://cdn.example.com/o.jpg", "autoship_eligible": "0",
                               "in_stock": "0", "discontinued": "1"},
    }
    assert run.products == 8 and run.catalog_read == 7 and run.catalog_total == 7
    assert run.bytes == len(raw)
    assert [f["name"] for f in run.files] == ["M123.Products.xml", "M123.Categories.xml"]
    assert run.host_key_fingerprint == sftp_server.fingerprint
    assert run.started_at and run.finished_at and run.progress_percent == 100


def test_categories_feed(store, og_identity, catalog, feed_settings, sftp_server):
    run_feed(store)
    root = ET.fromstring(sftp_server.read("/incoming/M123.Categories.xml"))
    assert root.tag == "catalog_categories"
    categories = [{child.tag: child.text for child in cat} for cat in root.find("categories")]
    shop = "https://store-abc123.mybigcommerce.com"
    assert categories == [
        {"category_id": "10", "tree_id": "1", "name": "Shop All", "path": "Shop All",
         "details_url": f"{shop}/shop-all/", "is_visible": "1"},
        {"category_id": "11", "tree_id": "1", "parent_id": "10", "name": "Kitchen & Bath",
         "path": "Shop All > Kitchen & Bath", "details_url": f"{shop}/shop-all/kitchen/", "is_visible": "0"},
    ]
    links = {p.find("product_id").text: [c.text for c in p.findall("category_id")]
             for p in root.find("product_categories")}
    c, t = catalog["coffee"], catalog["tee"]
    assert links == {  # category 99 is in no tree: not linked
        f"{c['id']}_{c['variants'][0]['id']}": ["11"],
        f"{t['id']}_{t['variants'][0]['id']}": ["10"],
        f"{t['id']}_{t['variants'][1]['id']}": ["10"],
    }


def test_no_incentive_group_when_the_store_has_none(store, og_identity, catalog, feed_settings, sftp_server):
    og_identity.incentive_groups_enabled = False
    og_identity.save()
    run_feed(store)
    assert b"<groups>" not in sftp_server.read("/incoming/M123.Products.xml")


def test_wrong_host_key_fails_clearly_and_uploads_nothing(store, og_identity, catalog, feed_settings, sftp_server):
    other = paramiko.ECDSAKey.generate(bits=256)
    feed_settings.sftp_host_key = f"{other.get_name()} {other.get_base64()}"
    feed_settings.save()
    run = run_feed(store)
    assert run.status == FeedRun.Status.FAILED
    assert "does not match the pinned key" in run.error and sftp_server.fingerprint in run.error
    assert sftp_server.files() == [] and sftp_server.events_of("open") == []
    alert = Alert.objects.get(store=store, dedupe_key="feed_failed", resolved_at__isnull=True)
    assert "does not match the pinned key" in alert.message


def test_cut_mid_upload_leaves_no_final_file(store, og_identity, catalog, feed_settings, sftp_server):
    sftp_server.cut_connection_after(500, count=10)
    run = run_feed(store, upload_attempts=2)
    assert run.status == FeedRun.Status.FAILED and "interrupted" in run.error
    assert "M123.Products.xml" not in sftp_server.files()
    assert len(sftp_server.events_of("cut")) == 2


def test_success_resolves_the_failure_alert(store, og_identity, catalog, feed_settings, sftp_server):
    feed_settings.sftp_password = "wrong-password"
    feed_settings.save()
    assert run_feed(store).status == FeedRun.Status.FAILED
    assert Alert.objects.filter(store=store, dedupe_key="feed_failed", resolved_at__isnull=True).exists()
    feed_settings.sftp_password = "feed-password-123"
    feed_settings.save()
    assert run_feed(store).status == FeedRun.Status.SUCCEEDED
    assert not Alert.objects.filter(store=store, dedupe_key="feed_failed", resolved_at__isnull=True).exists()


def test_missing_merchant_id_is_a_clear_failure(store, catalog, feed_settings, sftp_server):
    run = run_feed(store)
    assert run.status == FeedRun.Status.FAILED and "merchant ID" in run.error
    assert sftp_server.files() == []


def test_unpinned_host_key_refuses_to_upload(store, og_identity, catalog, feed_settings, sftp_server):
    feed_settings.sftp_host_key = ""
    feed_settings.save()
    run = run_feed(store)
    assert run.status == FeedRun.Status.FAILED and "Pin the SFTP server's host key" in run.error
    assert sftp_server.events_of("auth_ok") == []


def test_one_run_at_a_time(store, og_identity, feed_settings):
    first = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)
    with pytest.raises(services.FeedRunRefused, match="already queued") as info:
        services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)
    assert info.value.active.pk == first.pk
    assert FeedRun.objects.filter(store=store).count() == 1


def test_a_run_is_executed_once(store, og_identity, catalog, feed_settings, sftp_server):
    run = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)
    services.feed_run_execute(run.pk, backoff=0)
    opened = len(sftp_server.events_of("open"))
    again = services.feed_run_execute(run.pk, backoff=0)  # a redelivered task
    assert again.status == FeedRun.Status.SUCCEEDED
    assert len(sftp_server.events_of("open")) == opened


def test_a_dead_workers_run_is_expired(store, og_identity, feed_settings):
    from datetime import timedelta

    from django.utils import timezone

    stuck = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)
    FeedRun.objects.filter(pk=stuck.pk).update(status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    fresh = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)
    stuck.refresh_from_db()
    assert stuck.status == FeedRun.Status.FAILED and "stopped reporting" in stuck.error
    assert fresh.status == FeedRun.Status.QUEUED


def test_many_pages(store, og_identity, fake_bc, feed_settings, sftp_server):
    for index in range(12):
        fake_bc.add_product(store.store_hash, name=f"P{index}", price=index)
    run = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)
    from feeds.feed import selectors

    build_dir = __import__("pathlib").Path(__import__("tempfile").mkdtemp())
    from bigcommerce_app.client import client_for_store

    build = services.feed_build(store, client_for_store(store), build_dir, selectors.feed_identity(store),
                                page_size=5)
    assert build.products == 12 and build.catalog_read == 12
    assert len(fake_bc.requests_to("GET", r"/v3/catalog/products$")) == 3
    assert len(ET.fromstring(build.products_path.read_bytes())) == 12
    assert run.status == FeedRun.Status.QUEUED


def _page_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "feed-catalog-pages" and t.is_alive()]


def _catalog_of(fake_bc, store, count: int) -> None:
    for index in range(count):
        fake_bc.add_product(store.store_hash, name=f"P{index}", price=index + 1)


def test_a_failed_page_fails_the_run_with_its_error_and_uploads_nothing(store, og_identity, fake_bc, feed_settings,
                                                                        sftp_server):
    _catalog_of(fake_bc, store, 260)  # two pages of 250
    fake_bc.fail("GET", r"/v3/catalog/products$", status=500, query={"page": "2"},
                 body={"status": 500, "title": "Page two is broken"})
    run = run_feed(store)
    assert run.status == FeedRun.Status.FAILED
    assert "Page two is broken" in run.error and "HTTP 500" in run.error
    assert sftp_server.files() == [] and sftp_server.events_of("open") == []
    assert Alert.objects.filter(store=store, dedupe_key="feed_failed", resolved_at__isnull=True).exists()
    assert _page_threads() == []


def test_pages_after_a_failed_page_are_not_fetched(store, og_identity, fake_bc, tmp_path):
    from bigcommerce_app.client import BigCommerceError, client_for_store
    from feeds.feed import selectors

    _catalog_of(fake_bc, store, 30)
    fake_bc.fail("GET", r"/v3/catalog/products$", status=502, query={"page": "2"})
    with pytest.raises(BigCommerceError, match="HTTP 502"):
        services.feed_build(store, client_for_store(store), tmp_path, selectors.feed_identity(store), page_size=5)
    assert [r.q("page") for r in fake_bc.requests_to("GET", r"/v3/catalog/products$")] == ["1", "2"]
    assert _page_threads() == []


def test_a_401_on_a_later_page_marks_the_store_for_reauthorization(store, og_identity, fake_bc, feed_settings,
                                                                   sftp_server):
    _catalog_of(fake_bc, store, 260)
    fake_bc.fail("GET", r"/v3/catalog/products$", status=401, query={"page": "2"})
    run = run_feed(store)
    assert run.status == FeedRun.Status.FAILED and "HTTP 401" in run.error
    store.refresh_from_db()
    assert store.status == "needs_reauth"  # the hook ran on the run's own thread and database connection
    assert sftp_server.files() == []


def test_a_failure_while_writing_stops_the_page_thread(store, og_identity, fake_bc, tmp_path):
    from bigcommerce_app.client import client_for_store
    from feeds.feed import selectors

    _catalog_of(fake_bc, store, 40)
    first = min(fake_bc.stores[store.store_hash].products)
    del fake_bc.stores[store.store_hash].products[first]["variants"][0]["id"]  # a page the writer cannot write
    with pytest.raises(KeyError):
        services.feed_build(store, client_for_store(store), tmp_path, selectors.feed_identity(store), page_size=5)
    assert _page_threads() == []
    # The thread ran at most two pages ahead of the writer (bounded memory), then stopped.
    assert len(fake_bc.requests_to("GET", r"/v3/catalog/products$")) <= 4


@pytest.fixture
def celery_eager():
    """Tasks run where they are sent (what a worker would do with the message)."""
    from middleware.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_queued_run_whose_message_was_lost_is_sent_again_by_the_tick(
        store, og_identity, catalog, feed_settings, sftp_server, celery_eager, django_capture_on_commit_callbacks):
    """Found by bench/soak.py: the worker that took the message failed before claiming the run (its database
    was unreachable), so the run stayed queued with no message, and every "Run now" and scheduled slot of the
    store was refused as "already queued" for 30 minutes. Beat's tick sends such a run again."""
    from datetime import timedelta

    from django.utils import timezone

    from feeds.feed import tasks

    run = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)  # its message never ran
    with django_capture_on_commit_callbacks(execute=True):
        tasks.feed_schedule_tick()
    run.refresh_from_db()
    assert run.status == FeedRun.Status.QUEUED  # a young run may still be waiting in the broker: left alone

    FeedRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=5))  # still unclaimed
    with django_capture_on_commit_callbacks(execute=True):
        tasks.feed_schedule_tick()
    run.refresh_from_db()
    assert run.status == FeedRun.Status.SUCCEEDED
    assert sftp_server.files("/incoming") == ["M123.Categories.xml", "M123.Products.xml"]
