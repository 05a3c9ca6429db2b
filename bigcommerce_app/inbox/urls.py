from django.urls import path

from bigcommerce_app.inbox import views

urlpatterns = [
    path("webhooks/bigcommerce", views.bigcommerce_webhook, name="bc-webhook"),
]
