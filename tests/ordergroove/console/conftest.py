"""Settings console fixtures: the loopback SFTP server of tests/feeds, re-exported here (console_api lives in
tests/conftest.py)."""

from __future__ import annotations

from tests.feeds.conftest import SFTP_PASSWORD, SFTP_USER, feed_settings, sftp_server, sftp_server_session  # noqa: F401


