from django.apps import AppConfig


class OrdergrooveConfig(AppConfig):
    name = "ordergroove"

    def ready(self) -> None:
        """Plug Ordergroove's flows into bigcommerce_app, which never imports ordergroove: the webhook handlers,
        the storefront content and the settings row every installed store has. Imported here, where Django's
        documented start-up hook runs once every app's models are loaded; nothing else happens at start-up."""
        from bigcommerce_app import registry
        from ordergroove.store_settings.services import og_settings_ensure
        from ordergroove.storefront_script import content
        from ordergroove.sync import handlers

        # The BigCommerce inbox dispatches webhooks by scope to the handlers registered here (issue 4).
        handlers.register()
        # bigcommerce_app installs our storefront script and page through the Scripts and Pages APIs (issue 13).
        content.register()
        # The install flow creates the store's Ordergroove settings row through their owner.
        registry.register_store_setup("ordergroove_settings", og_settings_ensure)
