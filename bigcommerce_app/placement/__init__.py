"""Ordergroove's recurring orders placed and charged in BigCommerce (issue 7): `POST /ordergroove/order-placement`.

Owns the placement flow: the order XML (`order_xml`), the view, the services that authenticate, claim, create and
charge the order (`services` and the modules it calls), and the reads of placements (`selectors`). The
`OrderPlacement` rows it writes are in `bigcommerce_app.models`.

May import: the vendor clients (`bigcommerce_app.client`, `ordergroove.signatures`), the stores and settings
(`bigcommerce_app.models`, `bigcommerce_app.services` alerts, `ordergroove.models` settings), `ordergroove.constants`
and `middleware.plumbing`. Imports no other flow, no console, no project wiring.
"""
