"""SFTP drop-off to Ordergroove (ordergroove.md §7.1, patterns-and-peers §2.9).

Rules this module enforces for every connection:
- the server's host key must equal the key pinned in FeedSettings (RejectPolicy: an unknown or different key
  refuses the connection before any credential is sent);
- password or private-key auth, never the SSH agent or ~/.ssh keys of the machine;
- connect, banner, auth and channel timeouts, and a timeout on every SFTP read/write afterwards;
- uploads go to a temporary name in the same directory and are renamed onto the final name only once complete
  and size-checked, so Ordergroove (which polls /incoming/ every half hour) never reads half a file;
- transient failures (network, cut connection) are retried with exponential backoff; host-key and
  authentication failures are not (retrying cannot fix them).

Public API: `sftp_check(feed_settings)` for the console's "Check connection", `sftp_upload(...)` for feed runs,
`host_key_scan(...)` / `host_key_line` / `host_key_fingerprint` for showing and pinning the server's key.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import paramiko
from django.conf import settings
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from feeds.sftp_keys import (
    RecordingRejectPolicy,
    SftpAuthError,
    SftpConfigError,
    SftpConnectionError,
    SftpError,
    SftpHostKeyError,
    SftpRemoteError,
    host_key_fingerprint,
    host_key_fingerprint_of_line,
    host_key_line,
    host_key_parse,
    known_hosts_name,
    private_key_parse,
)
from middleware.plumbing.outbound import OutboundRefused, outbound_connect

# The SFTP client in one import: the errors and key helpers of feeds.sftp_keys are part of it.
__all__ = ["DEFAULT_BACKOFF_SECONDS", "DEFAULT_UPLOAD_ATTEMPTS", "INCOMING_DIR", "SftpAuthError", "SftpCheckResult",
           "SftpConfigError", "SftpConnectionError", "SftpError", "SftpHostKeyError", "SftpRemoteError", "SftpTarget",
           "SftpUploadResult", "host_key_fingerprint", "host_key_fingerprint_of_line", "host_key_line",
           "host_key_parse", "host_key_scan", "private_key_parse", "sftp_check", "sftp_session", "sftp_upload"]

logger = logging.getLogger(__name__)

INCOMING_DIR = "/incoming/"
TEMP_SUFFIX = ".tmp"
DEFAULT_UPLOAD_ATTEMPTS = 3
# First retry after this many seconds, doubling, capped at BACKOFF_MAX (feed runs may afford to wait a bit).
DEFAULT_BACKOFF_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 60.0


# --- Host key scan ------------------------------------------------------------------------------------------

def host_key_scan(host: str, port: int = 22, *, timeout: float | None = None) -> paramiko.PKey:
    """Ask the server for its host key without authenticating (the console shows its fingerprint so the
    merchant can compare it with what Ordergroove gave them before pinning it)."""
    timeout = settings.SFTP_CONNECT_TIMEOUT if timeout is None else timeout
    try:
        sock = outbound_connect(host, int(port), timeout=timeout)
    except OutboundRefused as exc:
        raise SftpConfigError(str(exc)) from exc
    except OSError as exc:
        raise SftpConnectionError(f"Cannot reach {host}:{port}: {exc.strerror or exc}") from exc
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise SftpConnectionError(f"{host}:{port} did not complete an SSH handshake: {exc}") from exc
    finally:
        _hang_up(transport)


# --- Connection -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SftpTarget:
    """What a connection needs, detached from the model (so the fake, the bench and the console share it)."""

    host: str
    port: int
    username: str
    password: str = ""
    private_key: str = ""
    host_key: str = ""

    @classmethod
    def from_settings(cls, feed_settings: Any) -> SftpTarget:
        return cls(host=(feed_settings.sftp_host or "").strip(), port=int(feed_settings.sftp_port or 22),
                   username=(feed_settings.sftp_username or "").strip(),
                   password=feed_settings.sftp_password or "", private_key=feed_settings.sftp_private_key or "",
                   host_key=(feed_settings.sftp_host_key or "").strip())

    @property
    def label(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"


def _target(feed_settings_or_target: Any) -> SftpTarget:
    if isinstance(feed_settings_or_target, SftpTarget):
        return feed_settings_or_target
    return SftpTarget.from_settings(feed_settings_or_target)


def _ssh_client(target: SftpTarget) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    # Never load ~/.ssh/known_hosts of the machine: the store's pin is the only trusted key.
    if target.host_key:
        pinned = host_key_parse(target.host_key)
        client.get_host_keys().add(known_hosts_name(target.host, target.port), pinned.get_name(), pinned)
    client.set_missing_host_key_policy(RecordingRejectPolicy())
    return client


def _socket(target: SftpTarget, timeout: float) -> socket.socket:
    try:
        return outbound_connect(target.host, target.port, timeout=timeout)
    except OutboundRefused as exc:
        raise SftpConfigError(str(exc)) from exc
    except TimeoutError as exc:
        raise SftpConnectionError(f"{target.host}:{target.port} did not answer within {timeout:g}s") from exc
    except OSError as exc:
        raise SftpConnectionError(f"Cannot connect to {target.host}:{target.port}: {exc}") from exc


def _ssh_connect(client: paramiko.SSHClient, target: SftpTarget, sock: socket.socket, pkey: paramiko.PKey | None,
                 timeout: float) -> None:
    """Key exchange (the host key checked against the pin) and then authentication, each failure named."""
    try:
        # The socket goes to the address outbound_connect checked; the name is still what the pinned host
        # key is looked up by.
        client.connect(target.host, port=target.port, username=target.username, sock=sock,
                       password=target.password or None, pkey=pkey, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout, channel_timeout=timeout,
                       allow_agent=False, look_for_keys=False)
    except SftpHostKeyError:
        raise
    except paramiko.BadHostKeyException as exc:
        raise SftpHostKeyError(
            f"The host key of {target.host}:{target.port} does not match the pinned key: the server "
            f"presented {exc.key.get_name()} {host_key_fingerprint(exc.key)}, the pinned key is "
            f"{host_key_fingerprint(exc.expected_key)}. Nothing was sent. If Ordergroove changed the "
            f"server's key, verify and pin the new one.", presented_key=exc.key) from exc
    except paramiko.AuthenticationException as exc:
        raise SftpAuthError(f"{target.label} refused the credentials: {exc}") from exc
    except TimeoutError as exc:
        raise SftpConnectionError(f"{target.host}:{target.port} did not answer within {timeout:g}s") from exc
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise SftpConnectionError(f"Cannot connect to {target.host}:{target.port}: {exc}") from exc


@contextmanager
def sftp_session(feed_settings: Any, *, timeout: float | None = None,
                 io_timeout: float | None = None) -> Iterator[paramiko.SFTPClient]:
    """An SFTP session to the store's server, host key verified before any credential is sent."""
    target = _target(feed_settings)
    if not target.host:
        raise SftpConfigError("No SFTP server is configured")
    if not target.username:
        raise SftpConfigError("No SFTP username is configured")
    if not (target.password or target.private_key):
        raise SftpConfigError("Set an SFTP password or a private key")
    pkey = private_key_parse(target.private_key) if target.private_key else None
    timeout = settings.SFTP_CONNECT_TIMEOUT if timeout is None else timeout
    io_timeout = getattr(settings, "SFTP_IO_TIMEOUT", 60.0) if io_timeout is None else io_timeout
    client = _ssh_client(target)
    sock = _socket(target, timeout)
    try:
        _ssh_connect(client, target, sock, pkey, timeout)
        try:
            sftp = client.open_sftp()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise SftpConnectionError(f"{target.label} did not open an SFTP session: {exc}") from exc
        sftp.get_channel().settimeout(io_timeout)
        try:
            yield sftp
        finally:
            _close_quietly(sftp)
    finally:
        if client.get_transport() is not None:
            _hang_up(client.get_transport())
        _close_quietly(client)
        _close_quietly(sock)


SESSION_END_WAIT = 2.0  # seconds the server gets to hang up after us


def _hang_up(transport: paramiko.Transport) -> None:
    """Half-close the connection and let the server hang up first, our transport thread reading whatever it still
    had on the way (its channel close, the EXT_INFO right after a scan's key exchange). Closing with that unread made
    our kernel answer with a reset, which the server logged as `ERROR Socket exception: Connection reset by peer
    (104)` after every successful check and upload (issue 15 #8)."""
    try:
        transport.sock.shutdown(socket.SHUT_WR)
        if transport.is_alive():
            transport.join(SESSION_END_WAIT)  # the transport's thread ends at the server's close
    except (OSError, RuntimeError):
        pass  # already closed, or never started: nothing in flight
    _close_quietly(transport)


def _close_quietly(closable: Any) -> None:
    # Closing a connection the server already dropped raises EOFError/OSError; the caller's own error (if any)
    # is the one worth reporting.
    try:
        closable.close()
    except (OSError, EOFError, paramiko.SSHException):
        logger.debug("Closing an SFTP connection that is already gone")


# --- Check connection ------------------------------------------------------------------------------------------

@dataclass
class SftpCheckResult:
    ok: bool
    message: str
    fingerprint: str = ""  # of the key the server presented (empty when it could not be reached)
    listing: list[str] = field(default_factory=list)  # names in /incoming/
    host_key: str = ""  # the presented key in OpenSSH form, for pinning
    pinned: bool = False  # the presented key equals the pinned one

    def as_dict(self) -> dict:
        return {"ok": self.ok, "message": self.message, "fingerprint": self.fingerprint, "listing": self.listing,
                "host_key": self.host_key, "pinned": self.pinned}


def sftp_check(feed_settings: Any, *, directory: str = INCOMING_DIR, timeout: float | None = None) -> SftpCheckResult:
    """Connect, authenticate and list `/incoming/`. Never raises: the result says what went wrong."""
    target = _target(feed_settings)
    try:
        with sftp_session(target, timeout=timeout) as sftp:
            key = sftp.get_channel().get_transport().get_remote_server_key()
            fingerprint, line = host_key_fingerprint(key), host_key_line(key)
            try:
                listing = sorted(sftp.listdir(directory))
            except OSError as exc:
                return SftpCheckResult(False, f"Connected to {target.label}, but {directory} cannot be listed: "
                                              f"{_sftp_error_text(exc)}", fingerprint, [], line, True)
            return SftpCheckResult(True, f"Connected to {target.label}; {directory} holds {len(listing)} file(s).",
                                   fingerprint, listing, line, True)
    except SftpHostKeyError as exc:
        return SftpCheckResult(False, str(exc), exc.fingerprint, [], exc.host_key, False)
    except SftpError as exc:
        fingerprint = line = ""
        if isinstance(exc, SftpAuthError) and target.host_key:
            # Authentication happens after the host key matched the pin.
            fingerprint, line = host_key_fingerprint_of_line(target.host_key), target.host_key
        return SftpCheckResult(False, str(exc), fingerprint, [], line, bool(line))


def _sftp_error_text(exc: OSError) -> str:
    return exc.strerror or (exc.args[1] if len(exc.args) > 1 else str(exc)) or exc.__class__.__name__


# --- Upload ----------------------------------------------------------------------------------------------------------

@dataclass
class SftpUploadResult:
    remote_path: str
    bytes: int
    attempts: int
    fingerprint: str


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, SftpError) and exc.transient


def sftp_upload(feed_settings: Any, local_path: str | os.PathLike, remote_name: str, *,
                directory: str = INCOMING_DIR, attempts: int = DEFAULT_UPLOAD_ATTEMPTS,
                backoff: float = DEFAULT_BACKOFF_SECONDS,
                progress: Callable[[int, int], None] | None = None,
                timeout: float | None = None) -> SftpUploadResult:
    """Upload a local file to `directory/remote_name`: to a temporary name first, size-checked, then renamed
    onto the final name (replacing the previous feed atomically). Transient failures are retried with
    exponential backoff; a partial temporary file is removed when the connection still allows it."""
    if "/" in remote_name or not remote_name:
        raise SftpConfigError(f"Invalid remote file name {remote_name!r}")
    directory = directory if directory.endswith("/") else directory + "/"
    local_path = Path(local_path)
    size = local_path.stat().st_size
    target = _target(feed_settings)
    state = {"attempt": 0}

    def attempt_once() -> SftpUploadResult:
        state["attempt"] += 1
        with local_path.open("rb") as source:
            return _upload_once(target, source, size, directory, remote_name, progress, timeout,
                                attempt=state["attempt"])

    retrying = Retrying(stop=stop_after_attempt(max(1, attempts)),
                        wait=wait_exponential(multiplier=backoff, min=backoff, max=BACKOFF_MAX_SECONDS),
                        retry=retry_if_exception(_is_transient), reraise=True,
                        before_sleep=lambda rs: logger.warning(
                            "SFTP upload of %s to %s failed (attempt %d): %s; retrying", remote_name, target.label,
                            rs.attempt_number, rs.outcome.exception() if rs.outcome else ""))
    return retrying(attempt_once)


def _upload_once(target: SftpTarget, source: IO[bytes], size: int, directory: str, remote_name: str,
                 progress: Callable[[int, int], None] | None, timeout: float | None, *, attempt: int
                 ) -> SftpUploadResult:
    final_path = directory + remote_name
    temp_path = f"{directory}.{remote_name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    with sftp_session(target, timeout=timeout) as sftp:
        fingerprint = host_key_fingerprint(sftp.get_channel().get_transport().get_remote_server_key())
        try:
            info = sftp.stat(directory)
        except OSError as exc:
            raise SftpRemoteError(f"{directory} on {target.host} cannot be used: {_sftp_error_text(exc)}") from exc
        if not stat.S_ISDIR(info.st_mode or 0):
            raise SftpRemoteError(f"{directory} on {target.host} is not a directory")
        try:
            written = sftp.putfo(source, temp_path, file_size=size, callback=progress, confirm=True)
            if written.st_size != size:
                raise SftpConnectionError(f"{temp_path} holds {written.st_size} bytes, expected {size}")
            _rename_over(sftp, temp_path, final_path)
        except OSError as exc:
            _remove_quietly(sftp, temp_path)
            if isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (2, 13):
                raise SftpRemoteError(f"Writing {final_path} on {target.host} failed: {_sftp_error_text(exc)}"
                                      ) from exc
            raise SftpConnectionError(f"Upload to {target.host} was interrupted: {exc}") from exc
        except (EOFError, paramiko.SSHException) as exc:
            _remove_quietly(sftp, temp_path)
            raise SftpConnectionError(f"Upload to {target.host} was interrupted: {exc or exc.__class__.__name__}"
                                      ) from exc
        except SftpError:
            _remove_quietly(sftp, temp_path)
            raise
    logger.info("Uploaded %s (%d bytes) to %s in attempt %d", final_path, size, target.label, attempt)
    return SftpUploadResult(remote_path=final_path, bytes=size, attempts=attempt, fingerprint=fingerprint)


def _rename_over(sftp: paramiko.SFTPClient, temp_path: str, final_path: str) -> None:
    """Atomic replace via the posix-rename@openssh.com extension; plain SFTP rename refuses an existing target,
    so without the extension the old file is removed first (a short window without a feed, never half a one)."""
    try:
        sftp.posix_rename(temp_path, final_path)
        return
    except OSError as exc:
        if not _unsupported(exc):
            raise
    try:
        sftp.remove(final_path)
    except FileNotFoundError:
        pass
    sftp.rename(temp_path, final_path)


def _unsupported(exc: OSError) -> bool:
    text = str(exc).lower()
    return "unsupported" in text or "not supported" in text


def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
    try:
        sftp.remove(path)
    except Exception:  # noqa: BLE001 - best effort on a connection that may be gone; the name is never final
        logger.debug("Could not remove %s", path)
