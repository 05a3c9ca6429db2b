from django.urls import include, path

from bigcommerce_app.console import alerts, callbacks, overview

urlpatterns = [
    # BigCommerce's app callbacks (the app's registered auth/load/uninstall/remove-user URLs).
    path("bigcommerce/auth", callbacks.auth_callback, name="bc-auth"),
    path("bigcommerce/load", callbacks.load_callback, name="bc-load"),
    path("bigcommerce/uninstall", callbacks.uninstall_callback, name="bc-uninstall"),
    path("bigcommerce/remove-user", callbacks.remove_user_callback, name="bc-remove-user"),
    path("console/", overview.console_home, name="console-home"),
    path("console/alerts/<int:alert_id>/acknowledge", alerts.alert_acknowledge_view,
         name="console-alert-acknowledge"),
    path("console/api/alerts", alerts.AlertsAPI.as_view(), name="console-api-alerts"),
    path("console/api/alerts/<int:alert_id>/acknowledge", alerts.AlertAcknowledgeAPI.as_view(),
         name="console-api-alert-acknowledge"),
    path("", include("bigcommerce_app.console.settings.urls")),
    path("", include("bigcommerce_app.console.activity.urls")),
    path("", include("bigcommerce_app.console.events.urls")),
    path("", include("bigcommerce_app.console.products.urls")),
    path("", include("bigcommerce_app.console.feed.urls")),
    path("", include("bigcommerce_app.console.storefront.urls")),
]
