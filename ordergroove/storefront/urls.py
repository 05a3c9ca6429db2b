from django.urls import path

from ordergroove.storefront import views

urlpatterns = [
    path("api/v1/merchant/ordergroove/signature", views.SignatureView.as_view(), name="storefront-signature"),
    path("api/v1/ordergroove/customer/has_subscriptions", views.HasSubscriptionsView.as_view(),
         name="storefront-has-subscriptions"),
]
