"""Run in fresh processes by the allowance tests (spawned: own Django, own Redis connection). No model imports
at module level: the spawned process imports this module before it sets Django up."""

from __future__ import annotations

import threading
import time


def book_in_threads(egress: str, budget: int, horizon: float, threads: int, calls: int) -> list[tuple]:
    """`threads` threads each make `calls` bookings of FIRST slots and wait for each slot granted, as the
    Ordergroove client does. Returns (granted, at, wait) per booking."""
    import django

    django.setup()
    from django.conf import settings

    from ordergroove import allowance

    settings.ORDERGROOVE_EGRESS_ID, settings.ORDERGROOVE_RATE_BUDGET_PER_MINUTE = egress, budget
    settings.ORDERGROOVE_RATE_MAX_WAIT = horizon
    out: list[tuple] = []

    def run() -> None:
        for _ in range(calls):
            grant = allowance.book(allowance.Priority.FIRST)
            out.append((grant.granted, grant.at, grant.wait))
            time.sleep(grant.wait if grant.granted else min(grant.wait, 0.05))

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return out
