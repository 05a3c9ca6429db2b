"""The Import/Export API's payloads as OpenAPI shows them. They only describe what the flow's selectors return
(`feeds.products.selectors.export_as_dict` / `import_as_dict`); validating a file is the flow's."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from feeds.models import ProductExportJob, ProductSettingsImport


class ExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(ProductExportJob.Status.choices)
    percent = serializers.IntegerField()
    products_done = serializers.IntegerField()
    products_total = serializers.IntegerField(allow_null=True)
    subscription_products = serializers.IntegerField()
    requests_made = serializers.IntegerField()
    rate_limit_waits = serializers.IntegerField(help_text="BigCommerce rate limits (429 / quota used up) waited out.")
    error = serializers.CharField()
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    file_name = serializers.CharField()
    download_url = serializers.CharField(allow_null=True)


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row in the file as a spreadsheet numbers it (header = 1).")
    column = serializers.CharField()
    reason = serializers.CharField()


class ImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(ProductSettingsImport.Status.choices)
    stalled = serializers.BooleanField(help_text="checking, but its check was lost: nothing was applied")
    file_name = serializers.CharField()
    uploaded_by = serializers.CharField()
    row_count = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
    error_total = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    summary = serializers.DictField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    rolled_back_at = serializers.DateTimeField(allow_null=True)
    changes = serializers.ListField(child=serializers.DictField(), required=False)


DetailSerializer = inline_serializer("ProductDetail", {"detail": serializers.CharField()})
