"""Periodic tasks of this app (merged into CELERY_BEAT_SCHEDULE). Plain data: no Django imports here."""

DELIVERIES_DUE_SECONDS = 5.0

BEAT_SCHEDULE: dict = {
    # Ordergroove deliveries whose time came: retries, purchase-post status polls, broker-down leftovers,
    # calls a dead worker left mid-flight (issue 4), calls the allowance held back. Every 5 s: a held-back call
    # waits for the next run, so this is how long the allowance may idle between purchase posts and status polls.
    "ordergroove-deliveries-due": {"task": "ordergroove.deliveries_due_enqueue", "schedule": DELIVERIES_DUE_SECONDS},
    # Ordergroove events whose processing task never ran (issue 7).
    "ordergroove-events-sweep": {"task": "ordergroove.og_events_sweep", "schedule": 60.0},
}
