from django.apps import AppConfig


class OrdergrooveConfig(AppConfig):
    name = "ordergroove"

    def ready(self) -> None:
        # The BigCommerce inbox dispatches webhooks by scope to the handlers registered here (issue 4).
        from ordergroove.sync import handlers

        handlers.register()
