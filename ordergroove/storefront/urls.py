from django.urls import path

from ordergroove.storefront import views
from ordergroove.storefront.schema import HasSubscriptionsSchema, SignatureSchema, documented

urlpatterns = [
    path("api/v1/merchant/ordergroove/signature", documented(views.signature, SignatureSchema),
         name="storefront-signature"),
    path("api/v1/ordergroove/customer/has_subscriptions", documented(views.has_subscriptions, HasSubscriptionsSchema),
         name="storefront-has-subscriptions"),
]
