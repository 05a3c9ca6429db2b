from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "feeds"

    def ready(self) -> None:
        """Plug feeds into bigcommerce_app, which never imports feeds: the catalog webhook handlers (incremental
        feed updates) and the settings row every installed store has. Imported here, where Django's documented
        start-up hook runs once every app's models are loaded; nothing else happens at start-up."""
        from bigcommerce_app import registry
        from feeds.feed import handlers
        from feeds.store_settings.services import feed_settings_ensure

        handlers.register()
        # The install flow creates the store's feed settings row through their owner.
        registry.register_store_setup("feed_settings", feed_settings_ensure)
