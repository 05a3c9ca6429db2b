"""Product subscription settings (layer 4, seed 002): the CSV import (`imports.py`, rows checked by
`import_rows.py` and `frequency.py`, rollback; a large file's check is a durable job), the CSV export
(`services.py`, a durable job walking the catalog page by page) and reads (`selectors.py`).

May import `middleware.plumbing`, bigcommerce_app's lower layers (client, models, registry) and `feeds.models`.
Never the console (its Import/Export tab, `bigcommerce_app.console.products`, calls this) or the wiring.
"""
