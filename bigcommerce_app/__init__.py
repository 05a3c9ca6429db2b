"""The BigCommerce app: the vendor client, the stores it serves, the Ordergroove → BigCommerce placement flow and
the merchant console (see the README's code map for the layers).

- layer 2, vendor clients: `client.py` (the only module that builds BigCommerce URLs; typed errors in
  `client_errors.py`), `signed_payload.py` (the app callbacks' JWT), `identifiers.py` (how BigCommerce objects are
  named to Ordergroove), `payment_gateway.py` (the payment gateway's Customers API, a store's vaulted cards);
- layer 3, stores: `models.py` (stores, users, audit trail, alerts, webhook subscriptions, storefront content rows,
  order placements) read through `selectors.py`; the lifecycle (`services.py`: install, load, uninstall,
  re-authorization, webhook registration, alerts, retention; `storefront_content.py`: our scripts and pages through
  the Scripts and Pages APIs) and its `tasks.py`; the webhook inbox (`inbox/`); `registry.py`, where the flows above
  plug in; `store_settings.py`, the row-locking helper the settings owners share;
- layer 4, a domain flow: `placement/` (Ordergroove's recurring orders placed and charged in BigCommerce);
- layer 5: `console/` (every page of the control-panel iframe) and `templatetags/`.

Layers 2 and 3 import only `middleware.plumbing`, Django and third-party packages: never ordergroove, feeds, the
console or the project wiring. The flows plug in from their AppConfig.ready() through `registry` (webhook handlers,
storefront content, settings rows at install). Inside the package the client is the bottom: what a refused token
does to a store is passed in (`client.on_store_unauthorized`, set in `apps.py`).
"""
