from django.urls import path

from ordergroove.events import views

urlpatterns = [
    path("webhooks/ordergroove", views.ordergroove_webhook, name="og-webhook"),
    path("console/ordergroove-events/", views.console_events, name="og-console-events"),
]
