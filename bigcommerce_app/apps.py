from django.apps import AppConfig


class BigcommerceAppConfig(AppConfig):
    name = "bigcommerce_app"
