"""The owner of the store's feed settings (the `FeedSettings` table: SFTP drop-off, schedule, incremental
updates): the one package that creates, validates and writes those rows, with a small read API (`selectors`:
`feed_settings_for`, `feed_identity`) and a write API that validates (`services`: `feed_settings_ensure`,
`feed_settings_update`; the SFTP and cron rules in `validation`).

Layer 3 (stores and their settings owners): imports `feeds.models`, `feeds.cron`, `feeds.sftp` (key parsing),
`bigcommerce_app.models`, `middleware.plumbing`, and the read API of the Ordergroove settings owner
(`ordergroove.store_settings.selectors`, a package of the same layer) for the merchant ID the feed files are
named after; never an Ordergroove flow, never the console.
"""
