from django.urls import include, path

from bigcommerce_app.console import alerts, overview

urlpatterns = [
    path("console/", overview.console_home, name="console-home"),
    path("console/alerts/<int:alert_id>/acknowledge", alerts.alert_acknowledge_view,
         name="console-alert-acknowledge"),
    path("console/api/alerts", alerts.AlertsAPI.as_view(), name="console-api-alerts"),
    path("console/api/alerts/<int:alert_id>/acknowledge", alerts.AlertAcknowledgeAPI.as_view(),
         name="console-api-alert-acknowledge"),
    path("", include("bigcommerce_app.console.settings.urls")),
    path("", include("bigcommerce_app.console.activity.urls")),
    path("", include("bigcommerce_app.console.events.urls")),
]
