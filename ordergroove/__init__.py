"""Everything Ordergroove, by layer (see the README's code map):

- layer 2, the vendor client: `client.py` (the only module that builds Ordergroove requests), `responses.py`,
  `request_bodies.py`, `signatures.py` (HMAC), `crypto.py` (AES), `allowance.py` (the rate allowance in Redis);
- layer 3, the owner of the store's Ordergroove and storefront settings (`store_settings/`: the only code that
  creates, validates or writes `OrdergrooveSettings` and `StorefrontSettings` rows) and the models (`models/`);
- layer 4, the domain flows: `sync/` (BigCommerce → Ordergroove), `events/` (Ordergroove's events), `storefront/`
  (the `signature` and `has_subscriptions` endpoints), `storefront_script/` (the script installed through the
  Scripts API).

May import `middleware.plumbing` and bigcommerce_app's lower layers (client, models, lifecycle, inbox, registry).
Other apps may import the settings owner's read API (`store_settings.selectors`: the feeds do, for the merchant ID
their files are named after), never ordergroove's flows. Nothing here imports the merchant console
(`bigcommerce_app.console`), which sits on top.
"""
