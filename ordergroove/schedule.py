"""Periodic tasks of this app (merged into CELERY_BEAT_SCHEDULE). Plain data: no Django imports here."""

BEAT_SCHEDULE: dict = {}
