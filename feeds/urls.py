from django.urls import include, path

urlpatterns: list = [
    path("", include("feeds.products.urls")),
    path("", include("feeds.feed.urls")),
]
