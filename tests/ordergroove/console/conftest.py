"""Settings console fixtures: the loopback SFTP server of tests/feeds (re-exported here) and a JSON client
carrying the console token."""

from __future__ import annotations

import pytest

from tests.feeds.conftest import SFTP_PASSWORD, SFTP_USER, feed_settings, sftp_server, sftp_server_session  # noqa: F401


@pytest.fixture
def console_api(client, console_token):
    class ConsoleApi:
        token = console_token

        def get(self, url, **kwargs):
            return client.get(url, headers={"X-Console-Token": console_token}, **kwargs)

        def post(self, url, data=None, **kwargs):
            return client.post(url, data, headers={"X-Console-Token": console_token}, **kwargs)

        def patch(self, url, data, **kwargs):
            return client.patch(url, data, content_type="application/json",
                                headers={"X-Console-Token": console_token}, **kwargs)

    return ConsoleApi()
