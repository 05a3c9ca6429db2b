"""Periodic tasks of this app (merged into CELERY_BEAT_SCHEDULE). Plain data: no Django imports here."""

BEAT_SCHEDULE: dict = {
    "bigcommerce-webhooks-reconcile": {
        "task": "bigcommerce_app.webhooks_reconcile_all",
        "schedule": 24 * 3600,
    },
}
