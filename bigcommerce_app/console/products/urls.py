from django.urls import path

from bigcommerce_app.console.products import api, views

urlpatterns = [
    path("console/products/", views.products_page, name="console-products"),
    path("console/products/import", views.import_upload, name="console-products-import"),
    path("console/products/imports/<int:import_id>/rollback", views.import_rollback,
         name="console-products-import-rollback"),
    path("console/api/products/exports", api.ExportsAPI.as_view(), name="console-api-product-exports"),
    path("console/api/products/exports/<int:job_id>", api.ExportAPI.as_view(), name="console-api-product-export"),
    path("console/api/products/exports/<int:job_id>/download", api.ExportDownloadAPI.as_view(),
         name="console-api-product-export-download"),
    path("console/api/products/imports", api.ImportsAPI.as_view(), name="console-api-product-imports"),
    path("console/api/products/imports/<int:import_id>", api.ImportAPI.as_view(), name="console-api-product-import"),
    path("console/api/products/imports/<int:import_id>/rollback", api.ImportRollbackAPI.as_view(),
         name="console-api-product-import-rollback"),
    path("console/api/products/settings", api.ProductSettingsAPI.as_view(), name="console-api-product-settings"),
]
