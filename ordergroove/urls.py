from django.urls import include, path

urlpatterns: list = [
    path("", include("ordergroove.placement.urls")),
    path("", include("ordergroove.events.urls")),
    path("", include("ordergroove.storefront.urls")),
    path("", include("ordergroove.console.urls")),
    path("", include("ordergroove.activity.urls")),
]
