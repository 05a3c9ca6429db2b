"""Console fixtures: the loopback SFTP server of tests/feeds and the fake Ordergroove of tests/ordergroove,
re-exported here (console_api lives in tests/conftest.py)."""

from __future__ import annotations

from tests.feeds.conftest import SFTP_PASSWORD, SFTP_USER, feed_settings, sftp_server, sftp_server_session  # noqa: F401
from tests.ordergroove.conftest import fake_og, fake_og_server, og_settings  # noqa: F401
