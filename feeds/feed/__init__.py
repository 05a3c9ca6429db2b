"""The product and categories feeds (layer 4, seed 001): runs (`services.py`), the files (`building.py`,
`xml_feed.py`, `categories.py`), the per-store cron schedule and incremental updates (`scheduling.py`,
`handlers.py` for the catalog webhooks), the SFTP host-key pin (`host_keys.py`), reads in `selectors.py`.
A run is a durable job (`FeedRun`, middleware.plumbing.jobs).

May import `middleware.plumbing`, bigcommerce_app's lower layers (client, models, inbox, registry), `feeds.sftp`,
`feeds.models`, `feeds.store_settings` and `ordergroove.store_settings.selectors`. Never the console or the wiring.
"""
