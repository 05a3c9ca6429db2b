from django.urls import path

from bigcommerce_app import views

urlpatterns = [
    path("bigcommerce/auth", views.auth_callback, name="bc-auth"),
    path("bigcommerce/load", views.load_callback, name="bc-load"),
    path("bigcommerce/uninstall", views.uninstall_callback, name="bc-uninstall"),
    path("bigcommerce/remove-user", views.remove_user_callback, name="bc-remove-user"),
]
