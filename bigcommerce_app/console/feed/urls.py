from django.urls import path

from bigcommerce_app.console.feed import api, views

urlpatterns = [
    path("console/feeds/", views.feeds_page, name="console-feeds"),
    path("console/feeds/run", views.run_now, name="console-feeds-run"),
    path("console/feeds/host-key/pin", views.host_key_pin, name="console-feeds-host-key-pin"),
    path("console/api/feeds/runs", api.FeedRunsAPI.as_view(), name="console-api-feed-runs"),
    path("console/api/feeds/runs/<int:run_id>", api.FeedRunAPI.as_view(), name="console-api-feed-run"),
    path("console/api/feeds/host-key", api.HostKeyAPI.as_view(), name="console-api-feed-host-key"),
]
