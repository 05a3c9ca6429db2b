"""Everything Ordergroove: its vendor client (`client`, `signatures`, `crypto`, `allowance`), the owner of the
store's Ordergroove settings (`store_settings`, layer 3) and the domain flows (`sync`, `events`, `placement`,
`storefront`, `storefront_script`, layer 4).

`ordergroove.store_settings` is the only code that creates, validates or writes `OrdergrooveSettings` rows; every
other package reads them through its read API (`store_settings.selectors`). Other apps may import that read API
(the feeds do, for the merchant ID their files are named after: it is a low layer), never ordergroove's flows.
Nothing here imports the merchant console (`bigcommerce_app.console`), which sits on top.
"""
