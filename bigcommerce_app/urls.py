from django.urls import include, path

from bigcommerce_app import console_alerts, views

urlpatterns = [
    path("bigcommerce/auth", views.auth_callback, name="bc-auth"),
    path("bigcommerce/load", views.load_callback, name="bc-load"),
    path("bigcommerce/uninstall", views.uninstall_callback, name="bc-uninstall"),
    path("bigcommerce/remove-user", views.remove_user_callback, name="bc-remove-user"),
    path("console/", views.console_home, name="console-home"),
    path("console/alerts/<int:alert_id>/acknowledge", console_alerts.alert_acknowledge_view,
         name="console-alert-acknowledge"),
    path("console/api/alerts", console_alerts.AlertsAPI.as_view(), name="console-api-alerts"),
    path("console/api/alerts/<int:alert_id>/acknowledge", console_alerts.AlertAcknowledgeAPI.as_view(),
         name="console-api-alert-acknowledge"),
    # Ordergroove's recurring orders placed into BigCommerce: POST /ordergroove/order-placement.
    path("", include("bigcommerce_app.placement.urls")),
]
