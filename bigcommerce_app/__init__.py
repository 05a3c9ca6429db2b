"""The BigCommerce app: the vendor client and the stores it serves (layers 2 and 3 of issue 16).

Owns: the BigCommerce client (`client.py`, the only module that builds BigCommerce URLs, and its typed errors in
`client_errors.py`); the app's callbacks and signed payloads (`views.py`, `signed_payload.py`); the stores, their
users, audit trail, alerts, webhook subscriptions and storefront content rows (`models.py`, read through
`selectors.py`); the app lifecycle (`services.py`: install, load, uninstall, re-authorization, webhook registration,
alerts, retention; `storefront_content.py`: our scripts and pages through the Scripts and Pages APIs) and its tasks;
the webhook inbox (`inbox/`); how BigCommerce objects are named to Ordergroove (`identifiers.py`); the merchant
console's shell (`console_*.py`, `templatetags/`).

May import: middleware.plumbing, Django and third-party packages. Never: ordergroove, feeds or the project wiring
(middleware outside plumbing). The domain flows above plug in instead, from their AppConfig.ready(): webhook
handlers and storefront content through `registry`, Overview panels through `console_nav`. Inside the package the
vendor client is the bottom: `client.py` and `client_errors.py` import only the plumbing, and what a refused token
does to a store is passed in (`client.on_store_unauthorized`, set in `apps.py`).
"""
