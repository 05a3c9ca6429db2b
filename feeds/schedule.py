"""Periodic tasks of this app (merged into CELERY_BEAT_SCHEDULE). Plain data: no Django imports here."""

BEAT_SCHEDULE: dict = {
    # Every minute: start the feed run of each store whose cron slot (US Central time) is due (issue 6), and send
    # again a run whose message was lost (unclaimed after FEED_RUN_REQUEUE_SECONDS, or refused by the broker) or
    # whose worker died (the feed run is a durable job, middleware.plumbing.jobs).
    "feeds-schedule-tick": {"task": "feeds.feed_schedule_tick", "schedule": 60.0},
    # The last good upload must be as recent as the schedule says; alert otherwise (issue 6).
    "feeds-staleness-check": {"task": "feeds.feed_staleness_check", "schedule": 15 * 60.0},
    # A large CSV import's check whose message was lost or refused by the broker, or whose worker died, is sent
    # again (the import's check is a durable job, middleware.plumbing.jobs).
    "feeds-product-import-checks-sweep": {"task": "feeds.product_import_checks_sweep", "schedule": 60.0},
    # A CSV export whose message was lost or refused by the broker, whose next slice is due (after a long
    # rate-limit wait), or whose worker died, is sent again (the export is a durable job, middleware.plumbing.jobs).
    "feeds-product-exports-sweep": {"task": "feeds.product_exports_sweep", "schedule": 60.0},
    # Finished CSV exports (their chunks hold a catalog's worth of rows) after PRODUCT_EXPORT_RETENTION_DAYS.
    "feeds-product-exports-prune": {"task": "feeds.product_exports_prune", "schedule": 24 * 3600.0},
}
