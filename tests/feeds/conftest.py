"""Feed fixtures: a real SFTP server on loopback (tests/fakes/sftp.py) and a store whose feed settings point
at it with its host key pinned."""

from __future__ import annotations

import pytest

from tests.fakes.sftp import FakeSftpServer

SFTP_USER = "og-feed"
SFTP_PASSWORD = "feed-password-123"


@pytest.fixture(scope="session")
def sftp_server_session():
    server = FakeSftpServer(users={SFTP_USER: SFTP_PASSWORD}).start()
    yield server
    server.stop()


@pytest.fixture
def sftp_server(sftp_server_session):
    """The loopback SFTP server, emptied (fresh /incoming/ and /outgoing/, no faults, no events)."""
    sftp_server_session.reset()
    sftp_server_session.users = {SFTP_USER: SFTP_PASSWORD}
    sftp_server_session.authorized_keys = {}
    return sftp_server_session


@pytest.fixture
def feed_settings(store, sftp_server):
    """The store's FeedSettings pointing at the loopback server, password auth, host key pinned."""
    fs = store.feed_settings
    fs.sftp_host = "127.0.0.1"
    fs.sftp_port = sftp_server.port
    fs.sftp_username = SFTP_USER
    fs.sftp_password = SFTP_PASSWORD
    fs.sftp_private_key = ""
    fs.sftp_host_key = sftp_server.host_key_line
    fs.save()
    return fs
