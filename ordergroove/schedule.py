"""Periodic tasks of this app (merged into CELERY_BEAT_SCHEDULE). Plain data: no Django imports here."""

BEAT_SCHEDULE: dict = {
    # Ordergroove events whose processing task never ran (issue 7).
    "ordergroove-events-sweep": {"task": "ordergroove.og_events_sweep", "schedule": 60.0},
}
