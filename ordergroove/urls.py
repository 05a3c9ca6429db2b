from django.urls import include, path

urlpatterns: list = [
    path("", include("ordergroove.placement.urls")),
    path("", include("ordergroove.events.urls")),
    # ordergroove.storefront.urls is included first by middleware/urls.py (hot path).
    path("", include("ordergroove.storefront_script.urls")),
]
