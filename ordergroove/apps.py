from django.apps import AppConfig


class OrdergrooveConfig(AppConfig):
    name = "ordergroove"
