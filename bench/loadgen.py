"""Load generators of bench/webhooks.py: asyncio, HTTP/1.1 keep-alive, loopback only.

- `load`: closed loop, a fixed number of connections each sending its next request when the last is answered
  (throughput and latency at a given concurrency).
- `open_loop`: deliveries arrive at a fixed rate whatever the server does, as BigCommerce's do; each is timed from
  the moment it was due (so a server that falls behind shows it), answered or given up after `give_up` seconds.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque


def _head(path: str, token: str, length: int) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Webhook-Token: {token}\r\nContent-Length: {length}\r\n\r\n").encode()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, the server closes the connection) of one response; its body is read and dropped."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("connection closed")
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "connection" and value.strip().lower() == "close":
            close = True
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1]), close


async def _connection(port: int, path: str, token: str, bodies: list[bytes], stop_at: float,
                      latencies: list[float], errors: list[bytes]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = 0
    try:
        while time.monotonic() < stop_at and index < len(bodies):
            body = bodies[index]
            index += 1
            started = time.perf_counter()
            writer.write(_head(path, token, len(body)) + body)
            await writer.drain()
            code, close = await _response(reader)
            latencies.append(time.perf_counter() - started)
            if code != 200:
                errors.append(body)
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def load(port: int, path: str, token: str, bodies_per_conn: list[list[bytes]], seconds: float) -> dict:
    """Closed loop: one connection per list of bodies, for `seconds` at most. "refused": the bodies not answered
    200."""
    latencies: list[float] = []
    errors: list[bytes] = []

    async def run():
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(_connection(port, path, token, bodies, stop_at, latencies, errors)
                               for bodies in bodies_per_conn))

    started = time.monotonic()
    asyncio.run(run())
    elapsed = time.monotonic() - started
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "errors": len(errors), "refused": errors,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else 0,
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1] if latencies else 0}


class _ClientLimit(Exception):  # noqa: N818 - an outcome: the generator had no connection left to send on
    pass


IDLE_REUSE = 1.0  # seconds: a kept-alive connection idle longer is closed, well before gunicorn's 2 s keep-alive


def open_loop(port: int, path: str, token: str, bodies: list[bytes], rate: float, *, give_up: float = 6.0,
              max_connections: int = 2400) -> dict:
    """Send bodies[i] at start + i / rate over reused keep-alive connections (a new one when none has been idle
    less than IDLE_REUSE, up to `max_connections`; past that the delivery counts as not answered). A reused
    connection the server closed meanwhile is retried once on a new one, as HTTP clients do. Returns, per body
    index, the status (0: no answer within `give_up`, connection refused or reset; -1: not sent, the generator
    was at `max_connections`) and the latency from its due
    time, plus how late requests were sent (connect included: the generator's and the kernel's share)."""
    outcomes: dict[int, tuple[int, float]] = {}
    lags: list[float] = []
    idle: deque[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = deque()  # oldest first
    opened = [0]

    def reusable(now: float):
        close_stale(now)
        if idle:
            _, reader, writer = idle.pop()  # the most recently used
            return reader, writer
        return None

    def close_stale(now: float) -> None:
        while idle and now - idle[0][0] >= IDLE_REUSE:
            idle.popleft()[2].close()
            opened[0] -= 1

    async def connect(deadline: float):
        if opened[0] >= max_connections:
            raise _ClientLimit
        opened[0] += 1
        try:
            return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), max(0.01, deadline))
        except BaseException:
            opened[0] -= 1
            raise

    async def deliver(index: int, due: float) -> None:
        loop = asyncio.get_running_loop()
        message = _head(path, token, len(bodies[index])) + bodies[index]
        conn, status, close = reusable(loop.time()), 0, True
        try:
            for attempt in (1, 2):
                fresh = conn is None
                if fresh:
                    conn = await connect(due + give_up - loop.time())
                if attempt == 1:
                    lags.append(loop.time() - due)
                conn[1].write(message)
                try:
                    status, close = await asyncio.wait_for(_response(conn[0]),
                                                           max(0.01, due + give_up - loop.time()))
                    break
                except (ConnectionResetError, asyncio.IncompleteReadError, BrokenPipeError):
                    conn[1].close()
                    opened[0] -= 1
                    conn = None
                    if fresh:
                        raise
        except _ClientLimit:
            status, close = -1, True
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            status, close = 0, True
        outcomes[index] = (status, loop.time() - due)
        if conn is not None:
            if close:
                conn[1].close()
                opened[0] -= 1
            else:
                idle.append((loop.time(), *conn))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        pending: set[asyncio.Task] = set()
        sent = 0
        while sent < len(bodies):
            due_now = min(len(bodies), int((loop.time() - start) * rate) + 1)
            while sent < due_now:
                task = asyncio.create_task(deliver(sent, start + sent / rate))
                pending.add(task)
                task.add_done_callback(pending.discard)
                sent += 1
            close_stale(loop.time())
            await asyncio.sleep(0.002)
        await asyncio.gather(*pending)
        for _, _, writer in idle:
            writer.close()

    asyncio.run(run())
    lags.sort()
    return {"outcomes": outcomes, "lag_p99_ms": 1000 * lags[int(len(lags) * 0.99) - 1] if lags else 0.0}
