from django.urls import path

from bigcommerce_app.console.settings import api, views

urlpatterns = [
    path("console/settings/", views.settings_page, name="console-settings"),
    path("console/api/settings", api.SettingsAPI.as_view(), name="console-api-settings"),
    path("console/api/settings/check/ordergroove", api.OrdergrooveCheckAPI.as_view(),
         name="console-api-check-ordergroove"),
    path("console/api/settings/check/sftp", api.SftpCheckAPI.as_view(), name="console-api-check-sftp"),
]
