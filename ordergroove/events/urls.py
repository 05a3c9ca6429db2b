from django.urls import path

from ordergroove.events import views

urlpatterns = [
    path("webhooks/ordergroove", views.ordergroove_webhook, name="og-webhook"),
]
