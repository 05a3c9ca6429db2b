"""Periodic tasks of this app (merged into CELERY_BEAT_SCHEDULE). Plain data: no Django imports here."""

BEAT_SCHEDULE: dict = {
    "bigcommerce-webhooks-reconcile": {
        "task": "bigcommerce_app.webhooks_reconcile_all",
        "schedule": 24 * 3600,
    },
    # Our storefront script and Subscription Manager page, re-created if the merchant deleted them (issue 13).
    "bigcommerce-storefront-content-reconcile": {
        "task": "bigcommerce_app.storefront_content_reconcile_all",
        "schedule": 24 * 3600,
    },
    # Inbox events the broker never got or a dead worker left behind (issue 4).
    "bigcommerce-inbox-sweep": {
        "task": "bigcommerce_app.inbound_events_sweep",
        "schedule": 30.0,
    },
    # Handled webhooks after INBOX_RETENTION_DAYS (failed and pending ones stay until replayed or handled).
    "bigcommerce-inbox-prune": {
        "task": "bigcommerce_app.inbound_events_prune",
        "schedule": 24 * 3600,
    },
}
