from django.urls import path

from bigcommerce_app.console.events import views

urlpatterns = [
    path("console/ordergroove-events/", views.console_events, name="og-console-events"),
]
