"""The Storefront tab: the storefront script flow (ordergroove.storefront_script) seen and switched by the merchant."""
