"""The product feed and the product settings import/export (layer 4), and the owner of the store's feed settings
(`store_settings`, layer 3: the only code that creates, validates or writes `FeedSettings` rows; the SFTP and cron
rules live in `store_settings.validation`).

May import `middleware.plumbing`, `bigcommerce_app` (models, client, lifecycle, inbox), and from the ordergroove
app only the read API of its settings owner (`ordergroove.store_settings.selectors`, for the merchant ID and
incentive group of the feed), never ordergroove's flows. Nothing here imports the merchant console
(`bigcommerce_app.console`), which sits on top: its Product feed and Import/Export tabs (`console.feed`,
`console.products`) call these flows' selectors and services.
"""
