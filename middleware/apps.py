from django.apps import AppConfig


class MiddlewareConfig(AppConfig):
    name = "middleware"
    verbose_name = "Shared plumbing"

    def ready(self) -> None:
        from django.conf import settings

        from middleware.plumbing.logging import install_record_factory, register_secret

        install_record_factory()
        register_secret(settings.BIGCOMMERCE_CLIENT_SECRET)
        register_secret(settings.SECRET_KEY)
        register_secret(getattr(settings, "METRICS_TOKEN", ""))
        for key in settings.FIELD_ENCRYPTION_KEYS:
            register_secret(key)
