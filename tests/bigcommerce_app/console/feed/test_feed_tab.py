"""The Product feed tab and its JSON API, through the console token."""

from __future__ import annotations

import pytest

from feeds.models import FeedRun, FeedSettings

pytestmark = pytest.mark.django_db


def test_page_needs_a_console_token(client, store):
    assert client.get("/console/feeds/").status_code == 401


def test_page_shows_schedule_host_key_and_runs(client, store, console_token, feed_settings, sftp_server):
    feed_settings.cron_minute, feed_settings.cron_hour = "30", "2"
    feed_settings.save()
    FeedRun.objects.create(store=store, trigger="manual", status="failed", error="Boom: server said no")
    response = client.get("/console/feeds/", {"t": console_token})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Every day, at 02:30 (US Central time)." in html
    assert sftp_server.fingerprint in html
    assert "Boom: server said no" in html
    assert "feed-password-123" not in html  # never rendered back


def test_run_now_queues_one_run(client, store, console_token, feed_settings):
    response = client.post("/console/feeds/run", {"t": console_token})
    assert response.status_code == 302 and "queued" in response["Location"]
    run = FeedRun.objects.get(store=store)
    assert run.trigger == "manual" and run.status == "queued" and run.requested_by == "merchant@example.com"
    response = client.post("/console/feeds/run", {"t": console_token})
    assert "already+queued" in response["Location"]
    assert FeedRun.objects.filter(store=store).count() == 1


def test_api_runs(client, store, console_token, feed_settings):
    headers = {"HTTP_X_CONSOLE_TOKEN": console_token}
    response = client.post("/console/api/feeds/runs", **headers)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    run_id = response.json()["id"]
    conflict = client.post("/console/api/feeds/runs", **headers)
    assert conflict.status_code == 409 and conflict.json()["active_run"]["id"] == run_id
    listing = client.get("/console/api/feeds/runs", **headers).json()
    assert [r["id"] for r in listing["runs"]] == [run_id]
    assert listing["schedule"]["scheduled"] is False
    one = client.get(f"/console/api/feeds/runs/{run_id}", **headers).json()
    assert one["phase"] == "waiting" and one["progress_percent"] is None


def test_api_needs_the_token(client, store):
    assert client.get("/console/api/feeds/runs").status_code in (401, 403)


def test_runs_of_another_store_are_invisible(client, install_store, console_token, store):
    other = install_store("zzz999")
    run = FeedRun.objects.create(store=other, trigger="manual")
    response = client.get(f"/console/api/feeds/runs/{run.pk}", HTTP_X_CONSOLE_TOKEN=console_token)
    assert response.status_code == 404


def test_scan_and_pin_the_host_key(client, store, console_token, feed_settings, sftp_server):
    feed_settings.sftp_host_key = ""
    feed_settings.save()
    headers = {"HTTP_X_CONSOLE_TOKEN": console_token}
    scanned = client.get("/console/api/feeds/host-key", {"scan": "1"}, **headers).json()
    assert scanned["pinned"] == "" and scanned["presented_fingerprint"] == sftp_server.fingerprint
    html = client.get("/console/feeds/", {"t": console_token, "scan": "1"}).content.decode()
    assert f'name="fingerprint" value="{sftp_server.fingerprint}"' in html
    wrong = client.post("/console/api/feeds/host-key", {"fingerprint": "SHA256:somethingelse"},
                        content_type="application/json", **headers)
    assert wrong.status_code == 409
    assert FeedSettings.objects.get(pk=feed_settings.pk).sftp_host_key == ""
    response = client.post("/console/feeds/host-key/pin", {"t": console_token, "fingerprint": sftp_server.fingerprint})
    assert response.status_code == 302 and "pinned" in response["Location"]
    assert FeedSettings.objects.get(pk=feed_settings.pk).sftp_host_key == sftp_server.host_key_line
    assert store.audit_events.filter(kind="sftp_host_key_pinned").exists()
