"""Ordergroove webhooks: order, subscription, subscriber and item events (seed 003, ordergroove.md §9).

`views.py` verifies `Ordergroove-Signature` and stores each event once (`services.py`); processing is a durable
job (`OrdergrooveEvent`, middleware.plumbing.jobs); `selectors.py` reads them for the console's events page.
May import `middleware.plumbing`, the Ordergroove client layer, bigcommerce_app's lower layers and
`ordergroove.models`; never another flow, the console or the wiring.
"""
