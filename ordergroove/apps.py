from django.apps import AppConfig


class OrdergrooveConfig(AppConfig):
    name = "ordergroove"

    def ready(self) -> None:
        # The BigCommerce inbox dispatches webhooks by scope to the handlers registered here (issue 4).
        from bigcommerce_app import registry
        from ordergroove.store_settings.services import og_settings_ensure
        from ordergroove.storefront_script import content
        from ordergroove.sync import handlers

        handlers.register()
        # bigcommerce_app installs our storefront script and page through the Scripts and Pages APIs (issue 13).
        content.register()
        # The install flow creates the store's Ordergroove settings row through their owner.
        registry.register_store_setup("ordergroove_settings", og_settings_ensure)
