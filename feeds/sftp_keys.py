"""The SFTP client's errors and keys (part of the drop-off to Ordergroove, `feeds.sftp`): what can go wrong, the
server's host key in OpenSSH forms (pinning, fingerprints, the policy that refuses an unpinned key) and the
merchant's private key. Imports no other part of the app; `feeds.sftp` exports every public name here."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io

import paramiko

# --- Errors -----------------------------------------------------------------------------------------------

class SftpError(Exception):
    """The drop-off did not work. `transient` says whether trying again later may help."""

    transient = False


class SftpConfigError(SftpError):
    """Settings are incomplete (no host, no username, no credential, malformed key)."""


class SftpHostKeyError(SftpError):
    """The server's host key is not the pinned one (or nothing is pinned). Carries the key the server
    presented so that the console can show its fingerprint for the merchant to verify and pin."""

    def __init__(self, message: str, *, presented_key: paramiko.PKey | None = None):
        super().__init__(message)
        self.presented_key = presented_key

    @property
    def fingerprint(self) -> str:
        return host_key_fingerprint(self.presented_key) if self.presented_key else ""

    @property
    def host_key(self) -> str:
        return host_key_line(self.presented_key) if self.presented_key else ""


class SftpAuthError(SftpError):
    """The server refused the username/password or key."""


class SftpConnectionError(SftpError):
    """No connection, a timeout, or the connection was lost (mid-upload included)."""

    transient = True


class SftpRemoteError(SftpError):
    """The server answered an SFTP operation with an error (missing directory, permission denied...)."""


# --- Host keys ----------------------------------------------------------------------------------------------

def host_key_line(key: paramiko.PKey) -> str:
    """OpenSSH public key form `"<type> <base64>"`, as stored in FeedSettings.sftp_host_key."""
    return f"{key.get_name()} {key.get_base64()}"


def host_key_fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's `SHA256:<base64, unpadded>` fingerprint (what `ssh-keygen -lf` prints)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def host_key_parse(line: str) -> paramiko.PKey:
    """Parse `"<type> <base64>"` (a known_hosts line with a host name in front, or a trailing comment, is
    accepted too, so a merchant may paste what `ssh-keyscan` printed)."""
    parts = (line or "").split()
    for index in range(len(parts) - 1):
        key_type, data = parts[index], parts[index + 1]
        if key_type.startswith(("ssh-", "ecdsa-", "sk-")):
            try:
                return paramiko.PKey.from_type_string(key_type, base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError, paramiko.SSHException) as exc:
                raise SftpConfigError(f"The pinned host key is not a valid {key_type} key") from exc
    raise SftpConfigError('The pinned host key must look like "ssh-ed25519 AAAA..." (OpenSSH public key form)')


def host_key_fingerprint_of_line(line: str) -> str:
    return host_key_fingerprint(host_key_parse(line))


def known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class RecordingRejectPolicy(paramiko.RejectPolicy):
    """RejectPolicy that keeps the refused key, so the error can show its fingerprint."""

    def missing_host_key(self, client, hostname, key):
        raise SftpHostKeyError(
            f"No host key is pinned for {hostname}: the server presented {key.get_name()} "
            f"{host_key_fingerprint(key)}. Verify this fingerprint with Ordergroove, then pin it.",
            presented_key=key,
        )


# --- Credentials -----------------------------------------------------------------------------------------------

_KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


def private_key_parse(text: str) -> paramiko.PKey:
    """A private key pasted in the console (OpenSSH or PEM; Ed25519, ECDSA or RSA; no passphrase)."""
    last: Exception | None = None
    for key_class in _KEY_CLASSES:
        try:
            return key_class.from_private_key(io.StringIO(text.strip() + "\n"))
        except (paramiko.SSHException, ValueError, TypeError) as exc:
            last = exc
    raise SftpConfigError("The SFTP private key could not be read (OpenSSH or PEM, Ed25519/ECDSA/RSA, "
                          "without a passphrase)") from last
