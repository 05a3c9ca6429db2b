from django.urls import path

from bigcommerce_app.console.activity import api, views

urlpatterns = [
    path("console/activity/", views.activity_page, name="console-activity"),
    path("console/activity/deliveries/<int:delivery_id>/", views.delivery_page, name="console-activity-delivery"),
    path("console/activity/deliveries/<int:delivery_id>/replay", views.delivery_replay_view,
         name="console-activity-delivery-replay"),
    path("console/activity/events/<int:event_id>/replay", views.event_replay, name="console-activity-event-replay"),
    path("console/activity/deliveries/replay-failed", views.deliveries_replay_failed_view,
         name="console-activity-deliveries-replay-failed"),
    path("console/activity/events/replay-failed", views.events_replay_failed_view,
         name="console-activity-events-replay-failed"),
    path("console/api/activity/summary", api.SummaryAPI.as_view(), name="console-api-activity-summary"),
    path("console/api/activity/events", api.EventsAPI.as_view(), name="console-api-activity-events"),
    path("console/api/activity/events/<int:event_id>/replay", api.EventReplayAPI.as_view(),
         name="console-api-activity-event-replay"),
    path("console/api/activity/deliveries", api.DeliveriesAPI.as_view(), name="console-api-activity-deliveries"),
    path("console/api/activity/deliveries/<int:delivery_id>", api.DeliveryAPI.as_view(),
         name="console-api-activity-delivery"),
    path("console/api/activity/deliveries/<int:delivery_id>/replay", api.DeliveryReplayAPI.as_view(),
         name="console-api-activity-delivery-replay"),
    path("console/api/activity/deliveries/replay-failed", api.DeliveriesReplayFailedAPI.as_view(),
         name="console-api-activity-deliveries-replay-failed"),
    path("console/api/activity/events/replay-failed", api.EventsReplayFailedAPI.as_view(),
         name="console-api-activity-events-replay-failed"),
]
