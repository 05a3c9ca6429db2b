"""The owner of the store's Ordergroove settings (the `OrdergrooveSettings` and `StorefrontSettings` tables): the
one package that creates, validates and writes those rows, with a small read API (`selectors`: `og_settings_for`,
`og_settings_get`, `storefront_settings_get`) and a write API that validates (`services`: `og_settings_ensure`,
`og_settings_update`, `storefront_settings_update`; the Ordergroove rules in `validation`, the storefront ones on
the model).

Layer 3 (stores and their settings owners): imports `ordergroove.models`, `bigcommerce_app.models` and
`middleware.plumbing` only, never a flow or the console. Any other package that needs these values (the feeds
read the merchant ID and incentive group, the console shows and saves the form) calls this package's read or
write API instead of touching the table.
"""
