"""A real SFTP server on loopback (paramiko's server classes: the real SSH protocol, host key and all), serving a
temporary directory as `/`. Used by tests, the feed benchmark and sandbox mode as Ordergroove's feed drop-off.

Controls:
- `users`: {username: password} and/or `authorized_keys`: {username: [paramiko public key, ...]};
- `host_key`: the server's key (a fresh ECDSA key by default); `host_key_line` / `fingerprint` expose it;
- `cut_after_bytes`: drop the connection once that many bytes of one file were written (a cut mid-upload);
  `cut_count` says for how many uploads (then uploads work again);
- `support_posix_rename`: turn off the posix-rename@openssh.com extension to exercise the fallback.
Every login, file open, rename and removal is recorded in `events`.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.sftp import SFTP_FAILURE, SFTP_OK, SFTP_OP_UNSUPPORTED

from feeds.sftp import host_key_fingerprint, host_key_line


@dataclass
class Event:
    kind: str  # "auth_ok", "auth_failed", "open", "close", "rename", "posix_rename", "remove", "cut"
    username: str = ""
    path: str = ""
    detail: str = ""
    at: float = field(default_factory=time.time)


class FakeSftpServer:
    name = "fake-sftp"

    def __init__(self, *, users: dict[str, str] | None = None,
                 authorized_keys: dict[str, list[paramiko.PKey]] | None = None,
                 host_key: paramiko.PKey | None = None, root: str | os.PathLike | None = None,
                 host: str = "127.0.0.1", port: int = 0, directories: tuple[str, ...] = ("incoming", "outgoing")):
        self.users = dict(users if users is not None else {"og-feed": "feed-password-123"})
        self.authorized_keys = {k: list(v) for k, v in (authorized_keys or {}).items()}
        self.host_key = host_key or paramiko.ECDSAKey.generate(bits=256)
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="fake-sftp-")).resolve()
        self.directories = directories
        for name in directories:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self.host = host
        self._port = port
        self.cut_after_bytes: int | None = None
        self.cut_count = 0
        self.support_posix_rename = True
        self.events: list[Event] = []
        self.lock = threading.RLock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._transports: list[paramiko.Transport] = []
        self._stopping = threading.Event()

    # Lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> FakeSftpServer:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self._port))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name=f"{self.name}-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._sock:
            self._sock.close()
            self._sock = None
        with self.lock:
            transports, self._transports = self._transports, []
        for transport in transports:
            transport.close()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def reset(self) -> None:
        """Empty the served tree and the event log, restore default behaviour (keeps users and host key)."""
        with self.lock:
            self.events.clear()
            self.cut_after_bytes = None
            self.cut_count = 0
            self.support_posix_rename = True
        for child in self.root.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        for name in self.directories:
            (self.root / name).mkdir(parents=True, exist_ok=True)

    @property
    def port(self) -> int:
        assert self._sock is not None, "server not started"
        return self._sock.getsockname()[1]

    @property
    def host_key_line(self) -> str:
        return host_key_line(self.host_key)

    @property
    def fingerprint(self) -> str:
        return host_key_fingerprint(self.host_key)

    # Test controls -----------------------------------------------------------------------------------------
    def cut_connection_after(self, nbytes: int, *, count: int = 1) -> None:
        """The next `count` uploads lose their connection after `nbytes` bytes of a file were written."""
        with self.lock:
            self.cut_after_bytes = nbytes
            self.cut_count = count

    def path(self, remote: str) -> Path:
        return self.root / remote.lstrip("/")

    def files(self, directory: str = "/incoming") -> list[str]:
        base = self.path(directory)
        return sorted(p.name for p in base.iterdir()) if base.exists() else []

    def read(self, remote: str) -> bytes:
        return self.path(remote).read_bytes()

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until every connection so far has ended, its transport thread included (so that whatever the
        server logs about a connection is logged)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            transports = list(self._transports)
        for transport in transports:
            transport.join(max(deadline - time.monotonic(), 0))
        return not any(t.is_alive() for t in transports)

    def events_of(self, kind: str) -> list[Event]:
        with self.lock:
            return [e for e in self.events if e.kind == kind]

    def record(self, kind: str, **kwargs) -> None:
        with self.lock:
            self.events.append(Event(kind, **kwargs))

    def _take_cut(self) -> int | None:
        with self.lock:
            if self.cut_after_bytes is not None and self.cut_count > 0:
                self.cut_count -= 1
                return self.cut_after_bytes
            return None

    # Serving -------------------------------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), name=f"{self.name}-conn", daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(None)
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.host_key)
        transport.set_subsystem_handler("sftp", SFTPServer, _FakeSftpInterface, fake=self)
        with self.lock:
            self._transports.append(transport)
        server = _SshServer(self, transport)
        try:
            transport.start_server(server=server)
        except (paramiko.SSHException, EOFError, OSError):
            transport.close()
            return
        # The transport's own thread serves the session; keep a channel accept so the client can open "sftp".
        channel = transport.accept(timeout=30)
        if channel is None:
            transport.close()
            return
        while transport.is_active() and not self._stopping.is_set():
            time.sleep(0.05)
        transport.close()


class _SshServer(paramiko.ServerInterface):
    def __init__(self, fake: FakeSftpServer, transport: paramiko.Transport):
        self.fake = fake
        self.transport = transport

    def get_allowed_auths(self, username: str) -> str:
        methods = []
        if username in self.fake.users:
            methods.append("password")
        if self.fake.authorized_keys.get(username):
            methods.append("publickey")
        return ",".join(methods) or "password"

    def check_auth_password(self, username: str, password: str) -> int:
        if username in self.fake.users and self.fake.users[username] == password:
            self.fake.record("auth_ok", username=username, detail="password")
            return paramiko.AUTH_SUCCESSFUL
        self.fake.record("auth_failed", username=username, detail="password")
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        for allowed in self.fake.authorized_keys.get(username, []):
            if allowed.get_name() == key.get_name() and allowed.asbytes() == key.asbytes():
                self.fake.record("auth_ok", username=username, detail="publickey")
                return paramiko.AUTH_SUCCESSFUL
        self.fake.record("auth_failed", username=username, detail="publickey")
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _FakeHandle(SFTPHandle):
    def __init__(self, fake: FakeSftpServer, remote: str, transport, flags: int = 0):
        super().__init__(flags)
        self.fake = fake
        self.remote = remote
        self.transport = transport
        self.written = 0
        self.cut_done = False
        self.cut_after = fake._take_cut() if flags & (os.O_WRONLY | os.O_RDWR) else None

    def write(self, offset, data):
        if self.cut_done:  # writes already queued behind the cut
            return SFTP_FAILURE
        if self.cut_after is not None and self.written + len(data) > self.cut_after:
            self.cut_done = True
            # Keep what arrived before the cut (a real server would have it on disk), then drop the link.
            keep = max(self.cut_after - self.written, 0)
            if keep:
                super().write(offset, data[:keep])
            self.fake.record("cut", path=self.remote, detail=str(self.written + keep))
            self.transport.close()
            return SFTP_FAILURE
        self.written += len(data)
        return super().write(offset, data)

    def close(self):
        self.fake.record("close", path=self.remote, detail=str(self.written))
        super().close()

    def stat(self):
        try:
            return SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)


class _FakeSftpInterface(SFTPServerInterface):
    """paramiko's stub SFTP server (tests/_stub_sftp.py), rooted at the fake's directory and recording."""

    def __init__(self, server, *args, fake: FakeSftpServer, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.fake = fake
        self.transport = server.transport  # the SSH connection, dropped on a simulated cut

    def session_started(self):
        pass

    def _local(self, path: str) -> Path:
        candidate = (self.fake.root / self.canonicalize(path).lstrip("/")).resolve()
        if candidate != self.fake.root and self.fake.root not in candidate.parents:
            raise PermissionError(path)
        return candidate

    def canonicalize(self, path):
        return os.path.normpath("/" + path.replace("\\", "/")).replace("//", "/")

    def list_folder(self, path):
        try:
            local = self._local(path)
            out = []
            for name in os.listdir(local):
                attr = SFTPAttributes.from_stat(os.stat(local / name))
                attr.filename = name
                out.append(attr)
            return out
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)

    def stat(self, path):
        try:
            return SFTPAttributes.from_stat(os.stat(self._local(path)))
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)

    lstat = stat

    def open(self, path, flags, attr):
        try:
            local = self._local(path)
            fd = os.open(local, flags, 0o644)
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)
        if flags & os.O_WRONLY:
            mode = "ab" if flags & os.O_APPEND else "wb"
        elif flags & os.O_RDWR:
            mode = "a+b" if flags & os.O_APPEND else "r+b"
        else:
            mode = "rb"
        try:
            fobj = os.fdopen(fd, mode)
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)
        handle = _FakeHandle(self.fake, self.canonicalize(path), self.transport, flags)
        handle.filename = str(local)
        handle.readfile = fobj
        handle.writefile = fobj
        self.fake.record("open", path=self.canonicalize(path), detail=mode)
        return handle

    def remove(self, path):
        try:
            os.remove(self._local(path))
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)
        self.fake.record("remove", path=self.canonicalize(path))
        return SFTP_OK

    def rename(self, oldpath, newpath):
        # SFTP v3 rename must fail when the target exists (OpenSSH does the same).
        try:
            old, new = self._local(oldpath), self._local(newpath)
            if new.exists():
                return SFTP_FAILURE
            os.rename(old, new)
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)
        self.fake.record("rename", path=self.canonicalize(newpath), detail=self.canonicalize(oldpath))
        return SFTP_OK

    def posix_rename(self, oldpath, newpath):
        if not self.fake.support_posix_rename:
            return SFTP_OP_UNSUPPORTED
        try:
            os.replace(self._local(oldpath), self._local(newpath))
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)
        self.fake.record("posix_rename", path=self.canonicalize(newpath), detail=self.canonicalize(oldpath))
        return SFTP_OK

    def mkdir(self, path, attr):
        try:
            os.mkdir(self._local(path))
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)
        return SFTP_OK

    def rmdir(self, path):
        try:
            os.rmdir(self._local(path))
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)
        return SFTP_OK

    def chattr(self, path, attr):
        return SFTP_OK
