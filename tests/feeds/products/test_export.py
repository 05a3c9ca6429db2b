"""Product CSV export (seed 002 "Initiate Export" / "Download .csv File"): a background job walks the catalog
through the BigCommerce client page by page and the console downloads the file."""

from __future__ import annotations

import json
import multiprocessing
import threading
import tracemalloc

import pytest
import requests

from bigcommerce_app.client import client_for_store
from feeds.models import ProductExportJob, ProductSubscriptionSetting
from feeds.products import services
from tests.fakes.base import Response
from tests.fakes.bigcommerce import FakeBigCommerce
from tests.feeds.products.conftest import csv_rows

pytestmark = pytest.mark.django_db


def _start_and_run(console_api, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = console_api.post("/console/api/products/exports")
    assert response.status_code == 202, response.content
    assert len(callbacks) == 1  # the worker task is enqueued only after the job row commits
    job = response.json()
    assert job["status"] == "queued" and job["download_url"] is None
    progress = services.product_export_run(job["id"])  # what the Celery task does
    assert progress.done
    return console_api.get(f"/console/api/products/exports/{job['id']}").json()


def test_export_lists_every_product_with_its_subscription_modifier(console_api, catalog, fake_bc,
                                                                   django_capture_on_commit_callbacks):
    job = _start_and_run(console_api, django_capture_on_commit_callbacks)
    assert job["status"] == "succeeded" and job["percent"] == 100
    assert job["products_done"] == job["products_total"] == 3 and job["subscription_products"] == 2

    response = console_api.get(job["download_url"])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="products-abc123-' in response["Content-Disposition"]
    rows = csv_rows(b"".join(response.streaming_content).decode())
    assert [r["Product ID"] for r in rows] == ["111", "112", "113"]
    coffee, mug, tea = rows
    assert coffee == {
        "Product ID": "111", "SKU": "COF-1", "Name": "Coffee", "Subscription Modifier ID": "501",
        "Subscription Modifier": "Subscription", "Autoship Eligible": "FALSE",
        "Frequency": "[{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':'TRUE'};"
                     "{'Name':'Every 1 month';'option_id':133;'every':0;'every_period':0;'is_default':'FALSE'};"
                     "{'Name':'Every 2 months';'option_id':134;'every':0;'every_period':0;'is_default':'FALSE'}]"}
    assert mug["Autoship Eligible"] == "FALSE" and mug["Frequency"] == "" and mug["Subscription Modifier"] == ""
    assert tea["Subscription Modifier ID"] == "602" and "'option_id':712" in tea["Frequency"]
    assert "'option_id':701" not in tea["Frequency"]  # the gift-wrap modifier is not a subscription one

    # Walked through the real client with modifiers included (BigCommerce then pages them 10 at a time).
    pages = fake_bc.requests_to("GET", r"/stores/abc123/v3/catalog/products$")
    assert pages and all(p.q("include") == "modifiers" for p in pages)


def test_export_prefills_what_the_store_already_imported(console_api, catalog, store,
                                                         django_capture_on_commit_callbacks):
    ProductSubscriptionSetting.objects.create(
        store=store, bc_product_id=111, modifier_id=501, autoship_eligible=True, frequencies=[
            {"name": "One-time purchase", "option_id": 132, "every": 0, "every_period": 0, "is_default": False},
            {"name": "Every 1 month", "option_id": 133, "every": 1, "every_period": 3, "is_default": True}])
    job = _start_and_run(console_api, django_capture_on_commit_callbacks)
    coffee = csv_rows(b"".join(console_api.get(job["download_url"]).streaming_content).decode())[0]
    assert coffee["Autoship Eligible"] == "TRUE"
    cell = coffee["Frequency"]
    assert "{'Name':'Every 1 month';'option_id':133;'every':1;'every_period':3;'is_default':'TRUE'}" in cell
    assert "{'Name':'Every 2 months';'option_id':134;'every':0;'every_period':0;'is_default':'FALSE'}" in cell


def test_one_export_at_a_time_and_no_download_before_it_is_done(console_api, catalog,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = console_api.post("/console/api/products/exports").json()
        second = console_api.post("/console/api/products/exports").json()
    assert first["id"] == second["id"]
    response = console_api.get(f"/console/api/products/exports/{first['id']}/download")
    assert response.status_code == 409 and "not finished" in response.json()["detail"]


def test_bigcommerce_failure_fails_the_export_with_its_words(console_api, catalog, fake_bc,
                                                             django_capture_on_commit_callbacks):
    fake_bc.fail("GET", r"/v3/catalog/products$", status=403,
                 body={"status": 403, "title": "You don't have a required scope to access the endpoint"})
    with django_capture_on_commit_callbacks(execute=False):
        job_id = console_api.post("/console/api/products/exports").json()["id"]
    assert services.product_export_run(job_id).done
    job = console_api.get(f"/console/api/products/exports/{job_id}").json()
    assert job["status"] == "failed" and "required scope" in job["error"]


def test_transient_failures_are_retried_by_re_enqueueing(console_api, catalog, fake_bc,
                                                         django_capture_on_commit_callbacks):
    fake_bc.fail("GET", r"/v3/catalog/products$", status=503, count=2)
    with django_capture_on_commit_callbacks(execute=False):
        job_id = console_api.post("/console/api/products/exports").json()["id"]
    first = services.product_export_run(job_id)
    assert not first.done and first.resume_in == 2
    second = services.product_export_run(job_id)
    assert not second.done and second.resume_in == 4
    assert services.product_export_run(job_id).done
    assert ProductExportJob.objects.get(pk=job_id).status == "succeeded"


def test_a_long_rate_limit_wait_goes_back_to_the_queue(console_api, catalog, fake_bc, store,
                                                       django_capture_on_commit_callbacks):
    fake_bc.quota, fake_bc.window_ms = 1, 60000  # one request per minute: far longer than a worker may sleep
    with django_capture_on_commit_callbacks(execute=False):
        job_id = console_api.post("/console/api/products/exports").json()["id"]
    client = client_for_store(store)
    client.max_inline_wait = 0.5
    progress = services.product_export_run(job_id, client=client)
    assert not progress.done and 50 < progress.resume_in <= 60
    job = ProductExportJob.objects.get(pk=job_id)
    assert job.status == "running" and job.rate_limit_waits >= 1


def test_another_store_cannot_see_or_download_the_export(client, console_api, catalog, install_store, fake_bc,
                                                         django_capture_on_commit_callbacks):
    from bigcommerce_app.console.auth import console_token_issue

    job = _start_and_run(console_api, django_capture_on_commit_callbacks)
    other = install_store("xyz789")
    other_token = console_token_issue(other.users.first())
    for url in (f"/console/api/products/exports/{job['id']}", job["download_url"]):
        assert client.get(url, headers={"X-Console-Token": other_token}).status_code == 404
    assert client.get("/console/api/products/exports", headers={"X-Console-Token": other_token}).json() == []
    assert client.get(job["download_url"]).status_code == 401  # no token at all


class _PagedFirstFake(FakeBigCommerce):
    """The fake BigCommerce, answering catalog pages by slicing first: the same answers, without building a
    view of all 10,000 products for every page (which would make this test measure the fake)."""

    def h_products(self, request, store):
        include = set(filter(None, (request.q("include") or "").split(",")))
        limit = int(request.q("limit") or 50)
        if include & {"modifiers", "options"}:
            limit = min(limit, 10)
        page = int(request.q("page") or 1)
        rows = [store.products[pid] for pid in sorted(store.products)]
        chunk = [self._product_view(p, include) for p in rows[(page - 1) * limit: page * limit]]
        return Response.json({"data": chunk, "meta": {"pagination": {
            "total": len(rows), "count": len(chunk), "per_page": limit, "current_page": page,
            "total_pages": max((len(rows) + limit - 1) // limit, 1)}}})


def _serve_catalog(conn, *, access_token: str, products: int, quota: int, window_ms: int) -> None:
    """Child process: a 10,000-product store with a request quota, and another app sharing that quota."""
    fake = _PagedFirstFake(client_id="c", client_secret="s")
    store = fake.add_store("abc123")
    store.access_token = access_token
    for index in range(products):
        modifiers = None
        if index % 10 == 0:
            modifiers = [{"name": "Subscription", "option_values": [
                {"label": "One-time purchase", "is_default": True}, {"label": "Every 1 month"}]}]
        fake.add_product("abc123", name=f"Product {index}", sku=f"SKU-{index:05d}", modifiers=modifiers)
    fake.quota, fake.window_ms = quota, window_ms
    fake.start()
    stop = threading.Event()

    def neighbour():  # bigcommerce.md §8.12: another app's bursts use up the store's shared quota
        with requests.Session() as session:
            while not stop.wait(0.5):
                for _ in range(quota):
                    session.get(f"{fake.url}/stores/abc123/v2/store", headers={"X-Auth-Token": access_token},
                                timeout=5)

    threading.Thread(target=neighbour, daemon=True).start()
    conn.send({"url": fake.url, "catalog_json_bytes": len(json.dumps(list(store.products.values())))})
    conn.recv()  # until the test is done
    stop.set()
    conn.send({"rate_limited_responses": fake.rate_limited_responses,
               "catalog_requests": len(fake.requests_to("GET", r"/v3/catalog/products$"))})
    fake.stop()


def test_ten_thousand_products_under_a_quota_with_bounded_memory(console_api, store, settings,
                                                                 django_capture_on_commit_callbacks):
    """10,000 products (1,000 pages of 10 with modifiers) from a BigCommerce that enforces a request quota
    shared with another app: the export finishes with every product, the 429s it met were waited out, and the
    export's memory stays far below what holding the catalog would take (each page is written before the next
    is fetched). The fake runs in its own process so that tracemalloc measures the export alone."""
    parent, child = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=_serve_catalog, args=(child,),
        kwargs={"access_token": store.access_token, "products": 10_000, "quota": 12, "window_ms": 100}, daemon=True)
    server.start()
    try:
        info = parent.recv()
        settings.BIGCOMMERCE_API_URL = info["url"]
        with django_capture_on_commit_callbacks(execute=False):
            job_id = console_api.post("/console/api/products/exports").json()["id"]
        tracemalloc.start()
        try:
            progress = services.product_export_run(job_id, budget_seconds=3600)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        parent.send("done")
        stats = parent.recv()
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()

    assert progress.done
    job = ProductExportJob.objects.get(pk=job_id)
    assert job.status == "succeeded" and job.products_done == job.products_total == 10_000
    assert job.subscription_products == 1_000
    assert stats["catalog_requests"] >= 1_000
    assert stats["rate_limited_responses"] > 0  # the quota was hit...
    assert job.rate_limit_waits > 0  # ...and waited out, never failed
    # Far below the catalog's JSON (its parsed form would take several times that again).
    assert peak < info["catalog_json_bytes"] / 4, (peak, info["catalog_json_bytes"])
    body = b"".join(console_api.get(f"/console/api/products/exports/{job_id}/download").streaming_content)
    rows = csv_rows(body.decode())
    assert len(rows) == 10_000 and len({r["Product ID"] for r in rows}) == 10_000
    assert sum(1 for r in rows if r["Subscription Modifier"]) == 1_000
