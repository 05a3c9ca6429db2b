from django.urls import path

from bigcommerce_app.placement import views

urlpatterns = [
    path("ordergroove/order-placement", views.order_placement, name="og-order-placement"),
]
