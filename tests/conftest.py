"""Shared fixtures: real fake servers on loopback, the real database, installed stores via the real OAuth
flow, and the rule that integration tests run for real under CI=true."""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings as django_settings

from tests.fakes.bigcommerce import FakeBigCommerce

CI = os.environ.get("CI", "").lower() == "true"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(config, items):
    services_up = django_settings.POSTGRES_AVAILABLE and django_settings.REDIS_AVAILABLE
    if CI and not services_up:
        raise pytest.UsageError("CI=true but PostgreSQL/Redis are not reachable: integration tests cannot be skipped")
    if CI and not CHROMIUM:
        raise pytest.UsageError("CI=true but Debian's chromium is not installed: browser tests cannot be skipped")
    skip_services = pytest.mark.skip(reason="needs PostgreSQL and Redis on 127.0.0.1 (run for real under CI=true)")
    skip_browser = pytest.mark.skip(reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
    for item in items:
        if "integration" in item.keywords and not services_up:
            item.add_marker(skip_services)
        if "browser" in item.keywords and not CHROMIUM:
            item.add_marker(skip_browser)


@pytest.fixture(scope="session")
def fake_bc_server():
    server = FakeBigCommerce(client_id=django_settings.BIGCOMMERCE_CLIENT_ID,
                             client_secret=django_settings.BIGCOMMERCE_CLIENT_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def fake_bc(fake_bc_server, settings):
    """The fake BigCommerce, emptied, with the service pointed at it."""
    fake_bc_server.reset()
    settings.BIGCOMMERCE_LOGIN_URL = fake_bc_server.url
    settings.BIGCOMMERCE_API_URL = fake_bc_server.url
    settings.BIGCOMMERCE_PAYMENTS_URL = fake_bc_server.url + "/payments-host"
    fake_bc_server.redirect_uri = f"{settings.APP_URL}/bigcommerce/auth"
    return fake_bc_server


@pytest.fixture
def install_store(client, fake_bc, db):
    """Install a store through the real auth callback; returns the Store row."""
    from bigcommerce_app.models import Store

    def _install(store_hash: str = "abc123", **kwargs) -> Store:
        params = fake_bc.issue_code(store_hash, **kwargs)
        response = client.get("/bigcommerce/auth", params)
        assert response.status_code == 302, response.content[:500]
        return Store.objects.get(store_hash=store_hash)

    return _install


@pytest.fixture
def store(install_store):
    return install_store()


@pytest.fixture
def console_token(store):
    """A console token for the store's installing user, as `load` would hand out."""
    from bigcommerce_app.console.auth import console_token_issue

    return console_token_issue(store.users.order_by("pk").first())


@pytest.fixture
def console_api(client, console_token):
    """The Django test client sending the console token header, as the console's JavaScript does."""

    class ConsoleApi:
        token = console_token
        headers = {"X-Console-Token": console_token}

        def get(self, url, **kwargs):
            return client.get(url, headers=self.headers, **kwargs)

        def post(self, url, data=None, **kwargs):
            return client.post(url, data, headers=self.headers, **kwargs)

        def patch(self, url, data, **kwargs):
            return client.patch(url, data, content_type="application/json", headers=self.headers, **kwargs)

    return ConsoleApi()
