from django.urls import path

from bigcommerce_app.console.storefront import views

urlpatterns = [
    path("console/storefront/", views.storefront_page, name="console-storefront"),
]
