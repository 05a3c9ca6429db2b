"""Issue 5 "what it must show", in headless Chromium: the console opened by a signed `load` URL inside an iframe
on another origin (as the BigCommerce control panel frames it), settings saved with secrets masked, both
"Check connection" buttons against the fakes (success and failure), a CSV export with its progress bar run by
a real Celery worker, a corrected file imported and a broken one refused with its row errors, and a file too large
to check in the request checked by that worker while the page waits for it. Screenshots go to test-artifacts/."""

from __future__ import annotations

import csv
import io
import shutil
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from feeds.models import ProductSubscriptionSetting
from ordergroove.models import OrdergrooveSettings
from tests.ordergroove.conftest import OG_HASH_KEY

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def wait_for(condition: Callable[[], bool], *, deadline: float = 60, what: str = "condition") -> None:
    """Poll until `condition()` (a deadline, not a timing assertion)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class ControlPanel:
    """A stand-in for the BigCommerce control panel: another origin that frames the app's load URL."""

    def __init__(self):
        self.load_url = ""
        panel = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server's naming
                body = (f'<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">'
                        f"<h3>Control panel › Apps › Ordergroove</h3>"
                        f'<iframe id="app" src="{panel.load_url}" style="width:1200px;height:1500px;border:0">'
                        f"</iframe></body></html>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def control_panel(settings):
    panel = ControlPanel()
    settings.CONSOLE_FRAME_ANCESTORS = [panel.origin]  # the control panel's origin may frame the console
    yield panel
    panel.stop()


@pytest.fixture
def celery_worker_thread():
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connection

    import feeds.tasks  # noqa: F401 - the project's tasks, as the worker's autodiscovery finds them
    from middleware.celery import app

    def close_connection(**_kwargs):  # the worker's threads must not keep the test database open
        connection.close()

    task_postrun.connect(close_connection, weak=False)
    app.control.purge()
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=20):
            yield app
    finally:
        task_postrun.disconnect(close_connection)


def _seed_catalog(fake_bc) -> None:
    fake_bc.add_product("abc123", name="Coffee", sku="COF-1", product_id=111, modifiers=[
        {"id": 501, "name": "Subscription", "option_values": [
            {"id": 132, "label": "One-time purchase", "is_default": True},
            {"id": 133, "label": "Every 1 month"}, {"id": 134, "label": "Every 2 months"}]}])
    for index in range(240):
        modifiers = None
        if index % 8 == 0:
            modifiers = [{"name": "Subscription", "option_values": [{"label": "One-time purchase"},
                                                                   {"label": "Every 2 weeks"}]}]
        fake_bc.add_product("abc123", name=f"Product {index}", sku=f"SKU-{index:03d}", modifiers=modifiers)


def _edit_coffee(csv_bytes: bytes, frequency: str) -> bytes:
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    for row in rows:
        if row["Product ID"] == "111":
            row["Autoship Eligible"] = "TRUE"
            row["Frequency"] = frequency
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_console_in_the_control_panel_iframe(live_server, control_panel, fake_bc, og_settings, feed_settings,
                                             sftp_server, celery_worker_thread, tmp_path, monkeypatch, settings):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    store = og_settings.store
    _seed_catalog(fake_bc)
    artifacts = Path(django_settings.TEST_ARTIFACTS_DIR) / "console"
    artifacts.mkdir(parents=True, exist_ok=True)
    control_panel.load_url = (f"{live_server.url}/bigcommerce/load?signed_payload_jwt="
                              f"{fake_bc.signed_payload_jwt('abc123')}")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                     headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1600})
            page = context.new_page()
            page.goto(control_panel.origin + "/")
            app = page.frame_locator("iframe#app")
            app.locator("nav.tabs").wait_for()
            assert context.cookies() == []  # the console works without cookies

            # --- Settings: save, secrets masked ------------------------------------------------------------
            app.locator("nav.tabs a", has_text="Settings").click()
            app.locator("#settings-form").wait_for()
            app.locator("#incentive_groups_enabled").check()
            app.locator("#global_offer_id").fill("offer-42")
            app.locator("#cron_minute").select_option("30")
            app.locator("#cron_hour").select_option("2")
            app.locator("#webhook_verification_key").fill("og-webhook-verification-secret")
            app.locator("#save-settings").click()
            app.locator("#saved-banner").wait_for()
            frame = page.frame(url=lambda url: "/console/settings/" in url)
            html = frame.content()
            assert OG_HASH_KEY not in html and "og-webhook-verification-secret" not in html
            assert f"set (…{OG_HASH_KEY[-4:]})" in html and "set (…cret)" in html
            assert app.locator("#schedule-description").inner_text() == "Every day, at 02:30 (US Central time)."
            assert app.locator("#schedule-next").inner_text().startswith("Next run: ")
            saved = OrdergrooveSettings.objects.get(store=store)
            assert saved.global_offer_id == "offer-42" and saved.incentive_groups_enabled
            assert saved.webhook_verification_key == "og-webhook-verification-secret"
            page.screenshot(path=str(artifacts / "01-settings-saved.png"), full_page=True)

            # --- Check connection: success, then the exact failures ------------------------------------------
            app.locator("#check-ordergroove").click()
            wait_for(lambda: "Working: Ordergroove accepted" in app.locator("#check-ordergroove-result").inner_text(),
                     what="Ordergroove check success")
            app.locator("#check-sftp").click()
            wait_for(lambda: "Working: logged in" in app.locator("#check-sftp-result").inner_text(),
                     what="SFTP check success")
            page.screenshot(path=str(artifacts / "02-checks-succeeded.png"), full_page=True)

            app.locator("#hash_key").fill(OG_HASH_KEY[::-1])
            app.locator("#sftp_password").fill("not-the-password")
            app.locator("#save-settings").click()
            app.locator("#saved-banner").wait_for()
            app.locator("#check-ordergroove").click()
            wait_for(lambda: "refused the signature" in app.locator("#check-ordergroove-result").inner_text(),
                     what="Ordergroove check failure")
            app.locator("#check-sftp").click()
            wait_for(lambda: app.locator("#check-sftp-result").inner_text().startswith("Failed:"),
                     what="SFTP check failure")
            page.screenshot(path=str(artifacts / "03-checks-failed.png"), full_page=True)

            # An invalid value: field error, nothing saved.
            app.locator("#hash_key").fill("too-short")
            app.locator("#save-settings").click()
            app.locator("#error-banner").wait_for()
            assert "exactly 32 characters" in app.locator('[data-field="hash_key"]').inner_text()
            assert OrdergrooveSettings.objects.get(store=store).hash_key == OG_HASH_KEY[::-1]

            # --- Export with a visible progress bar (a real Celery worker walks the catalog) ---------------------
            fake_bc.quota, fake_bc.window_ms = 3, 300  # a slow store: the progress is visible
            app.locator("nav.tabs a", has_text="Import / Export").click()
            app.locator("#start-export").click()
            progress = app.locator("#export-progress")
            wait_for(lambda: 0 < float(progress.get_attribute("value") or 0) < 100, what="export in progress")
            page.screenshot(path=str(artifacts / "04-export-progress.png"), full_page=True)
            download_link = app.locator("#export-download")
            download_link.wait_for(state="visible", timeout=120_000)
            assert app.locator("#export-progress").get_attribute("value") == "100"
            assert "241 of 241 products" in app.locator("#export-text").inner_text()
            fake_bc.quota = None
            with page.expect_download() as download_info:
                download_link.click()
            exported = Path(download_info.value.path()).read_bytes()
            assert exported.startswith(b"\xef\xbb\xbfProduct ID,SKU,Name,Subscription Modifier ID")
            page.screenshot(path=str(artifacts / "05-export-done.png"), full_page=True)

            # --- Import the corrected file ------------------------------------------------------------------------
            corrected = tmp_path / "corrected.csv"
            corrected.write_bytes(_edit_coffee(exported, (
                "[{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':' TRUE'};"
                "{'Name':'Every 1 month';'option_id':133;'every':1;'every_period':3;'is_default':'FALSE'};"
                "{'Name':'Every 2 months';'option_id':134;'every':2;'every_period':3;'is_default':'FALSE'}]")))
            app.locator("#import-file").set_input_files(str(corrected))
            app.locator("#import-submit").click()
            app.locator("#import-result[data-status=applied]").wait_for()
            assert "241 products" in app.locator("#import-summary").inner_text()
            coffee = ProductSubscriptionSetting.objects.get(store=store, bc_product_id=111)
            assert coffee.autoship_eligible and coffee.frequency_for_option(134)["every"] == 2
            page.screenshot(path=str(artifacts / "06-import-applied.png"), full_page=True)

            # --- Import a broken file: every row error shown, nothing applied -------------------------------------
            broken = tmp_path / "broken.csv"
            broken.write_bytes(_edit_coffee(exported, (
                "[{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':'TRUE'};"
                "{'Name':'Every 1 month';'option_id':133;'every':1;'every_period':7;'is_default':'TRUE'};"
                "{'Name':'Every 2 months';'option_id':999;'every':2;'every_period':3;'is_default':'FALSE'}]"))
                .replace(b"SKU-001,Product 1,,,FALSE", b"SKU-001,Product 1,,,MAYBE"))
            app.locator("#import-file").set_input_files(str(broken))
            app.locator("#import-submit").click()
            app.locator("#import-result[data-status=rejected]").wait_for()
            errors = app.locator("#import-errors tbody tr")
            texts = [errors.nth(i).inner_text() for i in range(errors.count())]
            assert len(texts) == 4, texts
            assert texts[0].startswith("2\tFrequency") and "every_period 7 is not valid" in texts[0]
            assert texts[1].startswith("2\tFrequency") and "is_default TRUE; 2 do" in texts[1]
            assert texts[2].startswith("2\tFrequency") and "option_id 999" in texts[2]
            assert "Autoship Eligible" in texts[3] and "'MAYBE' is not TRUE or FALSE" in texts[3]
            assert "4 errors" in app.locator("#import-result").inner_text()
            assert ProductSubscriptionSetting.objects.get(store=store, bc_product_id=111).frequency_for_option(
                134)["every"] == 2  # unchanged
            page.screenshot(path=str(artifacts / "07-import-rejected.png"), full_page=True)

            # --- A file too large to check in the request: checked by the worker, the page follows it ------------
            settings.PRODUCT_IMPORT_INLINE_MAX_PRODUCTS = 0
            app.locator("#import-file").set_input_files(str(corrected))
            app.locator("#import-submit").click()
            app.locator("#import-result[data-status=checking], #import-result[data-status=applied]").first.wait_for()
            app.locator("#import-result[data-status=applied]").wait_for(timeout=60_000)  # reloaded once decided
            assert "241 unchanged" in app.locator("#import-summary").inner_text()
            page.screenshot(path=str(artifacts / "08-large-import-applied.png"), full_page=True)
        finally:
            browser.close()
