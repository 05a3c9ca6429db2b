"""A tiny threaded HTTP server with a route table: the base of the project's fake vendors.

Fakes are real servers on loopback (tests and sandbox mode talk to them over sockets), keep state in memory,
record every request raw, and can be told to fail.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    received_at: float = field(default_factory=time.time)
    client_port: int = 0  # the caller's source port: tells which process of a soak is mid-call

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        lname = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lname:
                return value
        return default

    def json(self) -> Any:
        return json.loads(self.body.decode() or "null")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain",
             headers: dict[str, str] | None = None) -> Response:
        return cls(status, text.encode(), {"Content-Type": content_type, **(headers or {})})


Handler = Callable[[Request], Response]


@dataclass
class Fault:
    """An injected failure: `count` matching requests answer `status` (or hang for `delay` seconds)."""

    method: str
    pattern: re.Pattern
    count: int
    status: int = 500
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)  # only requests with these query values
    answer_first: bool = False  # with status 0: the answer is made at once and held `delay` s (a slow link)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A caller that went away (a process killed mid-call by a test or the soak) is no error of the fake."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeServer:
    name = "fake"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self._port = port
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.generation = 0  # bumped by clear_requests (every reset): a request delayed across it has no effect
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.register_routes()

    # Lifecycle ----------------------------------------------------------------------------------------------
    def register_routes(self) -> None:  # pragma: no cover - overridden
        pass

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def start(self) -> FakeServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes: without TCP_NODELAY, Nagle + delayed ACK stall every
            # keep-alive response ~40 ms, which no real vendor does.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

        self._server = _QuietServer((self.host, self._port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{self.name}-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # Test controls -------------------------------------------------------------------------------------
    def fail(self, method: str, path_regex: str, *, status: int = 500, count: int = 1, body: Any = None,
             delay: float = 0.0, headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
             answer_first: bool = False) -> None:
        """The next `count` requests matching (path, and `query` values if given, e.g. {"page": "2"}) answer
        `status` (after `delay` seconds; a delay longer than the client's timeout simulates a timeout)."""
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path_regex), count, status, body, delay,
                                     headers or {}, query or {}, answer_first))

    def requests_to(self, method: str, path_regex: str) -> list[Request]:
        pattern = re.compile(path_regex)
        with self.lock:
            return [r for r in self.requests if r.method == method.upper() and pattern.search(r.path)]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.generation += 1

    # Dispatch -----------------------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(handler.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                          dict(handler.headers.items()), body, client_port=handler.client_address[1])
        with self.lock:
            self.requests.append(request)
        response = self._fault_for(request) or self._route(request)
        try:
            handler.send_response(response.status)
            for key, value in response.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(response.body)))
            handler.end_headers()
            if response.body and handler.command != "HEAD":
                handler.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _fault_for(self, request: Request) -> Response | None:
        with self.lock:
            for fault in self.faults:
                if (fault.count > 0 and fault.method in (request.method, "*") and fault.pattern.search(request.path)
                        and all(request.q(k) == v for k, v in fault.query.items())):
                    fault.count -= 1
                    break
            else:
                return None
            generation = self.generation
        if fault.answer_first and fault.status == 0:  # the state of now, delivered late
            response = self._route(request)
            time.sleep(fault.delay)
            return response
        if fault.delay:
            time.sleep(fault.delay)
            if self.generation != generation:
                # The test that injected the delay has ended (its client timed out) and the fake was reset for
                # the next one: the late request must not change the next test's state (e.g. create a customer).
                return Response.json({"status": 503, "title": "Fake reset while this request was delayed"}, 503)
        if fault.status == 0:  # delay only, then the normal answer
            return None
        body = fault.body if fault.body is not None else {"status": fault.status, "title": "Injected failure"}
        if isinstance(body, str | bytes):
            data = body.encode() if isinstance(body, str) else body
            return Response(fault.status, data, {"Content-Type": "text/plain", **fault.headers})
        return Response.json(body, fault.status, fault.headers)

    def _route(self, request: Request) -> Response:
        for method, pattern, route_handler in self.routes:
            if method not in (request.method, "*"):
                continue
            match = pattern.match(request.path)
            if match:
                request.params = match.groupdict()
                try:
                    return route_handler(request)
                except Exception as exc:  # noqa: BLE001 - a fake's bug answers 500 like a real server
                    return Response.json({"status": 500, "title": f"fake error: {exc!r}"}, 500)
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response.json({"status": 404, "title": f"No route for {request.method} {request.path}"}, 404)
