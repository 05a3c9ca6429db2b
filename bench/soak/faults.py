"""Faults on a schedule: one round of every kind per minute of load. Each fault is recorded with its window (from
injection until the fault itself is over) and the success streams that show the service recovered from it."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field

from bench.soak.load import Load
from bench.soak.topology import Topology
from bench.soak.vendors import Vendors
from tests.fakes.base import FakeServer, Fault

PURCHASE_POST = r"/sc/subscription/create"
PAYMENT = r"/payments-host/stores/[a-z0-9]+/payments"
OG_TIMEOUT = 5  # ORDERGROOVE_TIMEOUT's default: a delay past it is a timeout for the service


@dataclass
class FaultRecord:
    kind: str
    start: float
    end: float = 0.0
    detail: str = ""
    streams: tuple[str, ...] = ()  # successes that show recovery
    injected: bool = True
    recovered_at: float | None = None

    @property
    def recovery(self) -> float | None:
        return None if self.recovered_at is None else self.recovered_at - self.end


@dataclass
class Injector:
    topology: Topology
    vendors: Vendors
    load: Load
    records: list[FaultRecord] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    # offset in each minute (s), kind
    SCHEDULE = ((3, "ordergroove outage (5xx)"), (12, "worker SIGKILL mid-task"),
                (18, "pg_terminate_backend"), (22, "web process SIGKILL mid-placement"),
                (28, "redis restart"), (33, "ordergroove rate limit (429)"), (40, "sftp drop mid-upload"),
                (42, "ordergroove timeouts"), (54, "web container SIGKILL"))

    def run(self, seconds: float) -> None:
        started = time.monotonic()
        plan = [(minute * 60 + offset, kind) for minute in range(max(int(seconds // 60), 1))
                for offset, kind in self.SCHEDULE if minute * 60 + offset < seconds - 2]
        actions = {kind: getattr(self, "_" + kind.split(" (")[0].replace(" ", "_").replace("-", "_").lower())
                   for _offset, kind in self.SCHEDULE}
        for at, kind in plan:
            if self.stop.wait(max(started + at - time.monotonic(), 0)):
                return
            record = FaultRecord(kind, time.time())
            try:
                actions[kind](record)
            except Exception as exc:  # noqa: BLE001 - a fault that could not be injected is reported, not fatal
                record.injected, record.detail = False, f"not injected: {exc!r}"
            record.end = record.end or time.time()
            self.records.append(record)

    # --- Ordergroove (the fake's fault injection) -----------------------------------------------------------
    def _window(self, fake: FakeServer, seconds: float, record: FaultRecord, *, status: int, delay: float = 0,
                path: str = r".*", headers: dict | None = None) -> None:
        fault = Fault("*", re.compile(path), 10**9, status, None, delay, headers or {})
        with fake.lock:
            fake.faults.append(fault)
        self.stop.wait(seconds)
        with fake.lock:
            fake.faults.remove(fault)
        record.end = time.time()
        record.detail = f"{seconds:.0f} s, {10**9 - fault.count} calls answered {status or 'late'}"

    def _ordergroove_outage(self, record: FaultRecord) -> None:
        record.streams = ("og_post",)
        self._window(self.vendors.og, 8, record, status=503)

    def _ordergroove_rate_limit(self, record: FaultRecord) -> None:
        record.streams = ("og_post",)
        self._window(self.vendors.og, 6, record, status=429, headers={"Retry-After": "3"})

    def _ordergroove_timeouts(self, record: FaultRecord) -> None:
        """Three purchase posts answered after the service's timeout (Ordergroove did take them)."""
        record.streams = ("og_post",)
        self.vendors.og.fail("POST", PURCHASE_POST, status=0, delay=OG_TIMEOUT + 1.5, count=3)
        fault = self.vendors.og.faults[-1]
        deadline = time.monotonic() + 20
        while fault.count > 0 and time.monotonic() < deadline and not self.stop.wait(0.2):
            pass
        self.stop.wait(OG_TIMEOUT + 1.5)
        record.end = time.time()
        record.detail = f"{3 - fault.count} purchase posts held {OG_TIMEOUT + 1.5:.1f} s"
        with self.vendors.og.lock:
            fault.count = 0

    # --- Processes --------------------------------------------------------------------------------------------
    def _held_call(self, fake: FakeServer, path: str, roles: tuple[str, ...], hold: float) -> tuple[str, int]:
        """Hold the next call to `path` for `hold` s and return (role, pid) of the process that made it."""
        since = time.time()
        fake.fail("POST", path, status=0, delay=hold, count=1)
        fault = fake.faults[-1]
        deadline = time.monotonic() + 20
        while fault.count > 0:
            if time.monotonic() > deadline or self.stop.wait(0.05):
                with fake.lock:
                    fault.count = 0
                raise TimeoutError(f"no call to {path} within 20 s")
        calls = [r for r in fake.requests_to("POST", path) if r.received_at >= since]
        found = self.topology.pid_with_local_port(roles, calls[0].client_port) if calls else None
        if found is None:
            raise LookupError(f"no process of {roles} holds the connection of the held call")
        return found

    def _worker_sigkill_mid_task(self, record: FaultRecord) -> None:
        record.streams = ("og_post",)
        role, pid = self._held_call(self.vendors.og, PURCHASE_POST, ("worker1", "worker2"), hold=3)
        self.topology.kill(role)
        record.detail = f"{role} (pid {pid} was posting a purchase) killed; restarted by the supervisor"

    def _web_process_sigkill_mid_placement(self, record: FaultRecord) -> None:
        record.streams = ("placement", "intake")
        role, pid = self._held_call(self.vendors.bc, PAYMENT, ("web",), hold=3)
        os.kill(pid, signal.SIGKILL)  # one gunicorn worker: its master starts another
        record.detail = f"gunicorn worker pid {pid} killed while charging a recurring order"

    def _web_container_sigkill(self, record: FaultRecord) -> None:
        record.streams = ("intake",)
        self.topology.kill("web")
        record.detail = "gunicorn master and workers killed; restarted by the supervisor (migrate, then gunicorn)"

    def _redis_restart(self, record: FaultRecord) -> None:
        record.streams = ("intake", "og_post")
        self.topology.restart("redis")
        record.end = time.time()
        record.detail = "SIGTERM, append-only file kept, started again on the same port"

    def _pg_terminate_backend(self, record: FaultRecord) -> None:
        record.streams = ("intake", "og_post")
        record.detail = f"{self.topology.terminate_backends()} backends terminated"

    def _sftp_drop_mid_upload(self, record: FaultRecord) -> None:
        """The next feed upload (the merchant's "Run now" comes every few seconds) loses its connection after
        300 bytes; the fault is over when the cut happened (watched in the background: faults go on)."""
        record.streams = ("feed",)
        since = time.time()
        self.vendors.sftp.cut_connection_after(300, count=1)
        record.end = float("inf")

        def wait_for_cut() -> None:
            while True:
                cuts = [e for e in self.vendors.sftp.events_of("cut") if e.at >= since]
                if cuts:
                    record.end = cuts[0].at
                    record.detail = f"connection cut after {cuts[0].detail} bytes of {cuts[0].path}"
                    # Recovered once that same file arrives whole (the other store's uploads do not count).
                    final = re.sub(r"^(.*/)\.(.+)\.[0-9a-f]+\.tmp$", r"\1\2", cuts[0].path)
                    record.streams = (f"feed:{final}",)
                    return
                if self.stop.wait(0.1):
                    record.injected, record.detail = False, "no feed upload came before the load ended"
                    return

        threading.Thread(target=wait_for_cut, name="soak-sftp-cut", daemon=True).start()
