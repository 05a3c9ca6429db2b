"""middleware.plumbing.http: what the environment says about proxies and credentials is honoured, read once per host."""

from __future__ import annotations

import base64

import pytest

from middleware.plumbing import http


@pytest.fixture
def fresh_environment(monkeypatch):
    monkeypatch.setattr(http, "_ENVIRONMENT", {})
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_proxy_from_the_environment_carries_the_call(fresh_environment, fake_bc_server, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine vendor.invalid login someone password s3cret\n")
    fresh_environment.setenv("HTTP_PROXY", fake_bc_server.url)
    fresh_environment.setenv("NETRC", str(netrc))
    fake_bc_server.clear_requests()

    response, _timing = http.send("GET", "http://vendor.invalid/ping", timeout=5)

    assert response.status_code == 404  # the fake, acting as the proxy, has no such route
    [seen] = fake_bc_server.requests_to("GET", r"^/ping$")
    assert seen.header("Host") == "vendor.invalid"
    assert seen.header("Authorization") == "Basic " + base64.b64encode(b"someone:s3cret").decode()


def test_no_proxy_hosts_are_called_directly(fresh_environment, fake_bc_server):
    fresh_environment.setenv("HTTP_PROXY", fake_bc_server.url)
    fresh_environment.setenv("NO_PROXY", "vendor.invalid")
    fake_bc_server.clear_requests()

    with pytest.raises(http.VendorError) as raised:
        http.send("GET", "http://vendor.invalid/ping", timeout=5)

    assert raised.value.kind == "unavailable"  # no such host: the proxy was not used
    assert not fake_bc_server.requests_to("GET", r"^/ping$")
