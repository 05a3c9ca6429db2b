"""Merchant-entered endpoints cannot point the server at its own network (issue 14, finding 12): in production
only https and public addresses, checked when the setting is saved and again on the address actually connected
to after DNS resolution (so DNS rebinding cannot slip through). The sandbox and the tests allow loopback by an
explicit setting (OUTBOUND_ALLOWED_ADDRESSES)."""

from __future__ import annotations

import socket
import threading

import pytest

from feeds.models import FeedSettings
from ordergroove.models import OrdergrooveSettings

pytestmark = pytest.mark.django_db

SETTINGS = "/console/api/settings"


@pytest.fixture
def production_policy(settings):
    settings.OUTBOUND_ALLOWED_ADDRESSES = "public"
    settings.OUTBOUND_HTTPS_ONLY = True


class Listener:
    """A TCP port on loopback that records whether anything connected to it (what the server must not reach)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """`og.rebind.example` resolves to a public address until `flip()`, then to 127.0.0.1 (DNS rebinding)."""
    real = socket.getaddrinfo
    state = {"address": "93.184.216.34"}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in ("og.rebind.example", "sftp.rebind.example"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (state["address"], int(port or 0)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    state["flip"] = lambda: state.update(address="127.0.0.1")
    return state


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379", "https://127.0.0.1:6379", "https://localhost", "https://10.0.0.5",
    "https://192.168.1.1/api", "https://169.254.169.254/latest", "https://[::1]:8443", "https://[::ffff:127.0.0.1]",
    "https://100.64.0.1", "https://0.0.0.0", "https://[fd00::1]", "http://93.184.216.34",
])
def test_production_refuses_to_save_an_endpoint_that_is_not_https_to_a_public_address(
        console_api, store, production_policy, url):
    response = console_api.patch(SETTINGS, {"api_url": url})

    assert response.status_code == 400
    assert "api_url" in response.json()["errors"]
    assert OrdergrooveSettings.objects.get(store=store).api_url != url


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "::1", "169.254.169.254"])
def test_production_refuses_to_save_an_sftp_host_on_a_private_network(console_api, store, production_policy, host):
    response = console_api.patch(SETTINGS, {"sftp_host": host})

    assert response.status_code == 400
    assert "sftp_host" in response.json()["errors"]
    assert FeedSettings.objects.get(store=store).sftp_host != host


def test_production_saves_a_public_https_endpoint(console_api, store, production_policy):
    response = console_api.patch(SETTINGS, {"api_url": "https://93.184.216.34/rest", "sftp_host": "93.184.216.35"})

    assert response.status_code == 200, response.content
    assert OrdergrooveSettings.objects.get(store=store).api_url == "https://93.184.216.34/rest"


def test_check_connection_never_reaches_a_loopback_endpoint_saved_before_the_rule(
        console_api, og_settings, production_policy, listener):
    og_settings.api_url = f"https://127.0.0.1:{listener.port}"
    og_settings.save()

    body = console_api.post("/console/api/settings/check/ordergroove").json()

    assert body["ok"] is False and "refused" in body["message"]
    assert listener.connections == 0


def test_dns_rebinding_to_loopback_after_the_save_is_refused_at_connect_time(
        console_api, og_settings, production_policy, listener, rebinding_dns):
    saved = console_api.patch(SETTINGS, {"api_url": f"https://og.rebind.example:{listener.port}"})
    assert saved.status_code == 200, saved.content

    rebinding_dns["flip"]()
    body = console_api.post("/console/api/settings/check/ordergroove").json()

    assert body["ok"] is False and "127.0.0.1" in body["message"]
    assert listener.connections == 0


def test_sftp_dns_rebinding_is_refused_at_connect_time(console_api, feed_settings, production_policy, listener,
                                                      rebinding_dns):
    saved = console_api.patch(SETTINGS, {"sftp_host": "sftp.rebind.example", "sftp_port": listener.port})
    assert saved.status_code == 200, saved.content

    rebinding_dns["flip"]()
    body = console_api.post("/console/api/settings/check/sftp").json()

    assert body["ok"] is False and "127.0.0.1" in body["message"]
    assert listener.connections == 0


def test_the_test_policy_reaches_loopback_only(console_api, store, settings):
    assert settings.OUTBOUND_ALLOWED_ADDRESSES == "loopback"
    refused = console_api.patch(SETTINGS, {"api_url": "https://93.184.216.34"})
    allowed = console_api.patch(SETTINGS, {"api_url": "http://127.0.0.1:9"})

    assert refused.status_code == 400 and allowed.status_code == 200


def test_sandbox_policy_allows_loopback_and_public(console_api, store, settings):
    settings.OUTBOUND_ALLOWED_ADDRESSES = "public+loopback"
    for url in ("http://127.0.0.1:9", "https://93.184.216.34"):
        assert console_api.patch(SETTINGS, {"api_url": url}).status_code == 200
    assert console_api.patch(SETTINGS, {"api_url": "https://10.0.0.1"}).status_code == 400
