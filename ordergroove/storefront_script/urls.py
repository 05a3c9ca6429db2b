from django.urls import path

from ordergroove.storefront_script import views

urlpatterns = [
    path("storefront/<str:version>/ordergroove.js", views.script_file, name="storefront-script"),
]
