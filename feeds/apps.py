from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "feeds"

    def ready(self) -> None:
        """Plug incremental feed updates into bigcommerce_app's inbox, which never imports feeds: the catalog
        webhook handlers. Imported here, where Django's documented start-up hook runs once every app's models are
        loaded; nothing else happens at start-up."""
        from feeds.feed import handlers

        handlers.register()
