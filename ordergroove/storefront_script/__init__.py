"""The storefront script the service installs through BigCommerce's Scripts API (issue 13, DECISIONS §4).

`storefront.js` and its versioned URL (`asset.py`, `views.py` serves the file), what each store should hold
(`content.py`, registered with bigcommerce_app.registry: bigcommerce_app.storefront_content reconciles it) and its
state for the console (`selectors.py`). May import `middleware.plumbing`, bigcommerce_app's lower layers and
`ordergroove.store_settings`; never the console (its Storefront tab calls this) or the wiring.
"""
