"""Periodic tasks of this app (merged into CELERY_BEAT_SCHEDULE). Plain data: no Django imports here."""

BEAT_SCHEDULE: dict = {
    # Ordergroove deliveries whose time came: retries, purchase-post status polls, broker-down leftovers,
    # calls a dead worker left mid-flight (issue 4).
    "ordergroove-deliveries-due": {"task": "ordergroove.deliveries_due_enqueue", "schedule": 15.0},
    # Ordergroove events whose processing task never ran (issue 7).
    "ordergroove-events-sweep": {"task": "ordergroove.og_events_sweep", "schedule": 60.0},
}
