from django.apps import AppConfig


class BigcommerceAppConfig(AppConfig):
    name = "bigcommerce_app"

    def ready(self) -> None:
        # The BigCommerce client sits below the store lifecycle and never imports it: a 401 on a store's token
        # reaches the lifecycle through the handler passed in here (the store then needs re-authorization).
        from bigcommerce_app import client, services

        client.on_store_unauthorized(services.store_mark_needs_reauth)
