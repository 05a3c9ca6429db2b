"""The SFTP drop-off against a real SSH server on loopback: pinned host keys, auth, temp-then-rename uploads,
cut connections and retries."""

from __future__ import annotations

import logging

import paramiko
import pytest

from feeds.sftp import (
    SftpAuthError,
    SftpConfigError,
    SftpConnectionError,
    SftpHostKeyError,
    SftpTarget,
    host_key_fingerprint,
    host_key_parse,
    host_key_scan,
    sftp_check,
    sftp_upload,
)
from tests.fakes.sftp import FakeSftpServer

pytestmark = pytest.mark.django_db


def target_for(server, **overrides) -> SftpTarget:
    values = {"host": "127.0.0.1", "port": server.port, "username": "og-feed", "password": "feed-password-123",
              "host_key": server.host_key_line}
    values.update(overrides)
    return SftpTarget(**values)


def feed_file(tmp_path, content: bytes = b"<products></products>\n"):
    path = tmp_path / "feed.xml"
    path.write_bytes(content)
    return path


# --- host keys -------------------------------------------------------------------------------------------------

def test_fingerprint_matches_openssh_format(sftp_server):
    fingerprint = host_key_fingerprint(sftp_server.host_key)
    assert fingerprint.startswith("SHA256:") and not fingerprint.endswith("=")
    assert host_key_fingerprint(host_key_parse(sftp_server.host_key_line)) == fingerprint
    # A known_hosts / ssh-keyscan line is accepted as well.
    assert host_key_fingerprint(host_key_parse(f"[127.0.0.1]:22 {sftp_server.host_key_line} comment")) == fingerprint


def test_malformed_pin_is_a_clear_config_error():
    with pytest.raises(SftpConfigError, match="OpenSSH public key form"):
        host_key_parse("not a key")
    with pytest.raises(SftpConfigError, match="not a valid ssh-ed25519"):
        host_key_parse("ssh-ed25519 !!!notbase64")


def test_scan_returns_the_servers_key_without_logging_in(sftp_server):
    key = host_key_scan("127.0.0.1", sftp_server.port, timeout=5)
    assert host_key_fingerprint(key) == sftp_server.fingerprint
    assert sftp_server.events_of("auth_ok") == [] and sftp_server.events_of("auth_failed") == []


# --- check connection --------------------------------------------------------------------------------------

def test_check_lists_incoming(sftp_server):
    sftp_server.path("/incoming/old.Products.xml").write_bytes(b"x")
    result = sftp_check(target_for(sftp_server))
    assert result.ok, result.message
    assert result.listing == ["old.Products.xml"]
    assert result.fingerprint == sftp_server.fingerprint and result.pinned


def test_check_without_pin_shows_fingerprint_and_sends_no_credentials(sftp_server):
    result = sftp_check(target_for(sftp_server, host_key=""))
    assert not result.ok and not result.pinned
    assert result.fingerprint == sftp_server.fingerprint
    assert result.host_key == sftp_server.host_key_line
    assert "No host key is pinned" in result.message
    assert sftp_server.events_of("auth_ok") == [] and sftp_server.events_of("auth_failed") == []


def test_check_with_wrong_pin_refuses_before_auth(sftp_server):
    other = paramiko.ECDSAKey.generate(bits=256)
    result = sftp_check(target_for(sftp_server, host_key=f"{other.get_name()} {other.get_base64()}"))
    assert not result.ok
    assert "does not match the pinned key" in result.message
    assert result.fingerprint == sftp_server.fingerprint
    assert sftp_server.events_of("auth_ok") == [] and sftp_server.events_of("auth_failed") == []


def test_check_with_wrong_password(sftp_server):
    result = sftp_check(target_for(sftp_server, password="wrong-password"))
    assert not result.ok and "refused the credentials" in result.message
    assert "wrong-password" not in result.message
    assert result.pinned and result.fingerprint == sftp_server.fingerprint


def test_check_unreachable_server():
    result = sftp_check(SftpTarget(host="127.0.0.1", port=1, username="u", password="p", host_key=""), timeout=2)
    assert not result.ok and "Cannot connect" in result.message


def test_check_with_missing_credentials():
    result = sftp_check(SftpTarget(host="127.0.0.1", port=22, username="u"))
    assert not result.ok and "password or a private key" in result.message


def test_key_auth(sftp_server):
    client_key = paramiko.ECDSAKey.generate(bits=256)
    import io

    buffer = io.StringIO()
    client_key.write_private_key(buffer)
    sftp_server.users = {}
    sftp_server.authorized_keys = {"og-feed": [client_key]}
    result = sftp_check(target_for(sftp_server, password="", private_key=buffer.getvalue()))
    assert result.ok, result.message
    assert [e.detail for e in sftp_server.events_of("auth_ok")] == ["publickey"]


def test_garbage_private_key_is_a_config_error(sftp_server):
    result = sftp_check(target_for(sftp_server, password="", private_key="-----BEGIN NONSENSE-----"))
    assert not result.ok and "private key could not be read" in result.message


# --- upload ----------------------------------------------------------------------------------------------------

def test_upload_goes_through_a_temporary_name(sftp_server, tmp_path):
    content = b"<products>" + b"x" * 100_000 + b"</products>"
    result = sftp_upload(target_for(sftp_server), feed_file(tmp_path, content), "M1.Products.xml", backoff=0)
    assert result.remote_path == "/incoming/M1.Products.xml" and result.bytes == len(content)
    assert sftp_server.read("/incoming/M1.Products.xml") == content
    assert sftp_server.files() == ["M1.Products.xml"]
    [opened] = sftp_server.events_of("open")
    assert opened.path.startswith("/incoming/.M1.Products.xml.") and opened.path.endswith(".tmp")
    [renamed] = sftp_server.events_of("posix_rename")
    assert renamed.detail == opened.path and renamed.path == "/incoming/M1.Products.xml"


def test_upload_replaces_the_previous_feed(sftp_server, tmp_path):
    sftp_server.path("/incoming/M1.Products.xml").write_bytes(b"old")
    sftp_upload(target_for(sftp_server), feed_file(tmp_path, b"new"), "M1.Products.xml", backoff=0)
    assert sftp_server.read("/incoming/M1.Products.xml") == b"new"


def test_upload_without_posix_rename_falls_back(sftp_server, tmp_path):
    sftp_server.support_posix_rename = False
    sftp_server.path("/incoming/M1.Products.xml").write_bytes(b"old")
    sftp_upload(target_for(sftp_server), feed_file(tmp_path, b"new"), "M1.Products.xml", backoff=0)
    assert sftp_server.read("/incoming/M1.Products.xml") == b"new"
    assert sftp_server.files() == ["M1.Products.xml"]


def test_wrong_host_key_uploads_nothing(sftp_server, tmp_path):
    other = paramiko.ECDSAKey.generate(bits=256)
    with pytest.raises(SftpHostKeyError, match="does not match the pinned key"):
        sftp_upload(target_for(sftp_server, host_key=f"{other.get_name()} {other.get_base64()}"),
                    feed_file(tmp_path), "M1.Products.xml", backoff=0)
    assert sftp_server.files() == []
    assert sftp_server.events_of("open") == [] and sftp_server.events_of("auth_ok") == []


def test_wrong_password_is_not_retried(sftp_server, tmp_path):
    with pytest.raises(SftpAuthError):
        sftp_upload(target_for(sftp_server, password="nope-nope"), feed_file(tmp_path), "M1.Products.xml",
                    attempts=3, backoff=0)
    assert len(sftp_server.events_of("auth_failed")) == 1


def test_cut_mid_upload_leaves_no_file_under_the_final_name(sftp_server, tmp_path):
    sftp_server.cut_connection_after(40_000, count=5)
    with pytest.raises(SftpConnectionError):
        sftp_upload(target_for(sftp_server), feed_file(tmp_path, b"y" * 200_000), "M1.Products.xml",
                    attempts=2, backoff=0)
    assert len(sftp_server.events_of("cut")) == 2
    assert "M1.Products.xml" not in sftp_server.files()
    assert sftp_server.events_of("posix_rename") == [] and sftp_server.events_of("rename") == []


def test_cut_mid_upload_keeps_the_previous_feed(sftp_server, tmp_path):
    sftp_server.path("/incoming/M1.Products.xml").write_bytes(b"previous complete feed")
    sftp_server.cut_connection_after(40_000, count=1)
    with pytest.raises(SftpConnectionError):
        sftp_upload(target_for(sftp_server), feed_file(tmp_path, b"y" * 200_000), "M1.Products.xml",
                    attempts=1, backoff=0)
    assert sftp_server.read("/incoming/M1.Products.xml") == b"previous complete feed"


def test_a_cut_is_retried_and_the_retry_lands(sftp_server, tmp_path):
    content = b"z" * 200_000
    sftp_server.cut_connection_after(40_000, count=1)
    result = sftp_upload(target_for(sftp_server), feed_file(tmp_path, content), "M1.Products.xml",
                         attempts=3, backoff=0)
    assert result.attempts == 2
    assert sftp_server.read("/incoming/M1.Products.xml") == content


def test_missing_incoming_directory_is_a_clear_error(sftp_server, tmp_path):
    import shutil

    shutil.rmtree(sftp_server.path("/incoming"))
    with pytest.raises(Exception, match="/incoming/ on 127.0.0.1 cannot be used"):
        sftp_upload(target_for(sftp_server), feed_file(tmp_path), "M1.Products.xml", backoff=0)


def test_upload_with_store_feed_settings(feed_settings, sftp_server, tmp_path):
    """FeedSettings (secrets decrypted from the database) drive the connection directly."""
    from feeds.models import FeedSettings

    fresh = FeedSettings.objects.get(pk=feed_settings.pk)
    sftp_upload(fresh, feed_file(tmp_path, b"db"), "M1.Products.xml", backoff=0)
    assert sftp_server.read("/incoming/M1.Products.xml") == b"db"
    assert sftp_check(fresh).ok


# --- a clean end -----------------------------------------------------------------------------------------------

def test_a_successful_check_upload_and_scan_log_no_error_on_either_side(sftp_server, tmp_path, caplog):
    """Issue 15 #8: every successful check and feed run logged paramiko's `ERROR Socket exception: Connection reset
    by peer (104)` (the server's side: our client closed its socket with the server's close still in flight)."""
    assert sftp_server.wait_idle()  # earlier tests' connections (refused logins, cuts) have said what they had to
    server = FakeSftpServer().start()
    target = target_for(server)
    try:
        with caplog.at_level(logging.DEBUG, logger="paramiko"):
            for _ in range(5):
                assert sftp_check(target, timeout=5).ok
                assert sftp_upload(target, feed_file(tmp_path), "feed.xml", timeout=5).remote_path
            host_key_scan("127.0.0.1", server.port, timeout=5)
            assert server.wait_idle()
    finally:
        server.stop()
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert not any("reset by peer" in r.getMessage() for r in caplog.records)
