"""Pinning the SFTP server's host key (the feed uploads only to the pinned key): what is pinned and what the
server presents now, and pinning the key the merchant approved."""

from __future__ import annotations

from dataclasses import dataclass

from bigcommerce_app.services import audit
from feeds import sftp
from feeds.models import FeedSettings


@dataclass
class HostKeyView:
    host: str
    port: int
    pinned: str  # OpenSSH form, "" when nothing is pinned
    pinned_fingerprint: str
    presented: str = ""  # what the server shows now (after a scan)
    presented_fingerprint: str = ""
    error: str = ""

    @property
    def matches(self) -> bool:
        return bool(self.pinned_fingerprint) and self.pinned_fingerprint == self.presented_fingerprint

    def as_dict(self) -> dict:
        return {"host": self.host, "port": self.port, "pinned": self.pinned,
                "pinned_fingerprint": self.pinned_fingerprint, "presented": self.presented,
                "presented_fingerprint": self.presented_fingerprint, "matches": self.matches, "error": self.error}


def host_key_view(fs: FeedSettings, *, scan: bool = False) -> HostKeyView:
    pinned_fp = ""
    if fs.sftp_host_key:
        try:
            pinned_fp = sftp.host_key_fingerprint_of_line(fs.sftp_host_key)
        except sftp.SftpConfigError as exc:
            pinned_fp = f"(invalid: {exc})"
    view = HostKeyView(host=fs.sftp_host, port=fs.sftp_port, pinned=fs.sftp_host_key, pinned_fingerprint=pinned_fp)
    if scan:
        if not fs.sftp_host:
            view.error = "No SFTP server is configured."
            return view
        try:
            key = sftp.host_key_scan(fs.sftp_host, fs.sftp_port)
            view.presented, view.presented_fingerprint = sftp.host_key_line(key), sftp.host_key_fingerprint(key)
        except sftp.SftpError as exc:
            view.error = str(exc)
    return view


def host_key_pin(fs: FeedSettings, *, fingerprint: str, actor: str = "") -> HostKeyView:
    """Pin the key the server presents now, but only if it is the one the merchant saw and approved (its
    fingerprint): a key swapped between showing and pinning is refused."""
    fingerprint = (fingerprint or "").strip()
    if not fingerprint:
        raise sftp.SftpConfigError("Give the fingerprint you verified (SHA256:...).")
    key = sftp.host_key_scan(fs.sftp_host, fs.sftp_port)
    presented = sftp.host_key_fingerprint(key)
    if presented != fingerprint:
        raise sftp.SftpHostKeyError(f"The server now presents {presented}, not the fingerprint you approved "
                                    f"({fingerprint}). Nothing was pinned.", presented_key=key)
    previous = fs.sftp_host_key
    fs.sftp_host_key = sftp.host_key_line(key)
    fs.save(update_fields=["sftp_host_key", "updated_at"])
    audit(fs.store, "sftp_host_key_pinned", actor=actor, fingerprint=presented,
          previous=sftp.host_key_fingerprint_of_line(previous) if previous else "")
    return host_key_view(fs)
