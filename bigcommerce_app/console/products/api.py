"""`/console/api/products/...`: the Import/Export tab as JSON (DECISIONS §2), with the console token
(`X-Console-Token`). Thin: each view calls a selector or a service; every lookup is scoped to the token's store,
so one store can never see another's exports or imports."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import parsers, renderers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from bigcommerce_app.console.auth import ConsoleAPIView, console_actor
from bigcommerce_app.console.products.serializers import DetailSerializer, ExportSerializer, ImportSerializer
from feeds.models import ProductExportJob, ProductSettingsImport
from feeds.products import imports, selectors, services
from middleware.plumbing.inputs import INT32_MAX, InputError, optional_int, strict_int

MULTIPART_OVERHEAD_BYTES = 64 * 1024

def max_upload_bytes() -> int:
    """PRODUCT_IMPORT_MAX_UPLOAD_BYTES: the largest CSV file an import takes (README, Tunables)."""
    return int(getattr(settings, "PRODUCT_IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))


def too_large_message() -> str:
    return f"The file is larger than {max_upload_bytes() // (1024 * 1024)} MB."


class CsvTextParser(parsers.BaseParser):
    """A raw `text/csv` body (automation may send the file as is instead of multipart)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"csv": stream.read(max_upload_bytes() + 1)}


class CsvRenderer(renderers.BaseRenderer):
    """Lets `Accept: text/csv` reach the download view (which streams the file itself); errors stay JSON."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data, "application/json", renderer_context)




class ExportsAPI(ConsoleAPIView):
    @extend_schema(operation_id="console_products_exports_list", tags=["console products"],
                   responses={200: ExportSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response([selectors.export_as_dict(job) for job in selectors.exports_recent(request.user.store)])

    @extend_schema(operation_id="console_products_export_start", tags=["console products"], request=None,
                   responses={202: ExportSerializer},
                   description="Start a background export of the catalog (seed 002 'Initiate Export'). While one "
                               "is running for the store, that one is answered instead of a second.")
    def post(self, request: Request) -> Response:
        job = services.product_export_start(request.user.store, requested_by=console_actor(request))
        return Response(selectors.export_as_dict(job), status=status.HTTP_202_ACCEPTED)


class ExportAPI(ConsoleAPIView):
    @extend_schema(operation_id="console_products_export_read", tags=["console products"],
                   responses={200: ExportSerializer, 404: DetailSerializer})
    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.export_get(request.user.store, job_id)
        if job is None:
            return Response({"detail": "No such export."}, status=status.HTTP_404_NOT_FOUND)
        return Response(selectors.export_as_dict(job))


class ExportDownloadAPI(ConsoleAPIView):
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]

    @extend_schema(operation_id="console_products_export_download", tags=["console products"],
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The product CSV."),
                              404: DetailSerializer, 409: DetailSerializer})
    def get(self, request: Request, job_id: int):
        job = selectors.export_get(request.user.store, job_id)
        if job is None:
            return Response({"detail": "No such export."}, status=status.HTTP_404_NOT_FOUND)
        if job.status != ProductExportJob.Status.SUCCEEDED:
            return Response({"detail": f"The export is {job.get_status_display().lower()}, not finished."},
                            status=status.HTTP_409_CONFLICT)
        response = StreamingHttpResponse(selectors.export_csv_stream(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
        response["Cache-Control"] = "no-store"
        return response


class ImportsAPI(ConsoleAPIView):
    parser_classes = [parsers.MultiPartParser, CsvTextParser]

    @extend_schema(operation_id="console_products_imports_list", tags=["console products"],
                   responses={200: ImportSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response([selectors.import_as_dict(r) for r in selectors.imports_recent(request.user.store)])

    @extend_schema(
        operation_id="console_products_import", tags=["console products"],
        request={"multipart/form-data": inline_serializer("ProductImportUpload", {"file": serializers.FileField()}),
                 "text/csv": OpenApiTypes.STR},
        responses={201: ImportSerializer, 202: ImportSerializer, 400: ImportSerializer},
        description="Import the product CSV (seed 002 columns; Frequency in the seed's quasi-JSON or plain JSON). "
                    "Every row is validated; if any row is invalid nothing is applied and 400 lists every error "
                    "with row, column and reason. An applied import keeps the previous settings for compare and "
                    "rollback. A file with more subscription products than one request can check against the "
                    "live catalog answers 202 with status `checking`: read the import until it is `applied` or "
                    "`rejected` (`stalled` true: its check was lost, nothing was applied, upload it again).")
    def post(self, request: Request) -> Response:
        # Refused before the body is read when its declared size is already too large (multipart adds a little).
        declared = optional_int(request.META.get("CONTENT_LENGTH") or "0") or 0
        if declared > max_upload_bytes() + MULTIPART_OVERHEAD_BYTES:
            return Response({"detail": too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is not None:
            if not isinstance(upload, UploadedFile):  # `file` sent as a plain form field, not a file part
                return Response({"detail": "Send the CSV as a file part named 'file' (a form upload with "
                                           "filename=...), not as a plain form field."},
                                status=status.HTTP_400_BAD_REQUEST)
            if upload.size > max_upload_bytes():
                return Response({"detail": too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
            data, name = upload.read(), upload.name or "upload.csv"
        elif isinstance(request.data, dict) and isinstance(request.data.get("csv"), bytes):
            data, name = request.data["csv"], request.query_params.get("file_name", "upload.csv")
            if len(data) > max_upload_bytes():
                return Response({"detail": too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        else:
            return Response({"detail": "Send the CSV as multipart field 'file' or as a text/csv body."},
                            status=status.HTTP_400_BAD_REQUEST)
        record = imports.product_settings_import(request.user.store, data=data, file_name=name,
                                                  uploaded_by=console_actor(request))
        code = {ProductSettingsImport.Status.APPLIED: status.HTTP_201_CREATED,
                ProductSettingsImport.Status.CHECKING: status.HTTP_202_ACCEPTED}.get(record.status,
                                                                                   status.HTTP_400_BAD_REQUEST)
        return Response(selectors.import_as_dict(record, with_changes=True), status=code)


class ImportAPI(ConsoleAPIView):
    @extend_schema(operation_id="console_products_import_read", tags=["console products"],
                   responses={200: ImportSerializer, 404: DetailSerializer},
                   description="One import with its errors, or for an applied one the products it added or "
                               "changed with their settings before and after (compare).")
    def get(self, request: Request, import_id: int) -> Response:
        record = selectors.import_get(request.user.store, import_id)
        if record is None:
            return Response({"detail": "No such import."}, status=status.HTTP_404_NOT_FOUND)
        return Response(selectors.import_as_dict(record, with_changes=True))


class ImportRollbackAPI(ConsoleAPIView):
    @extend_schema(operation_id="console_products_import_rollback", tags=["console products"], request=None,
                   responses={200: ImportSerializer, 404: DetailSerializer, 409: DetailSerializer},
                   description="Put back the settings the most recent applied import replaced.")
    def post(self, request: Request, import_id: int) -> Response:
        if selectors.import_get(request.user.store, import_id) is None:
            return Response({"detail": "No such import."}, status=status.HTTP_404_NOT_FOUND)
        try:
            record = imports.product_settings_rollback(request.user.store, import_id, actor=console_actor(request))
        except imports.ProductSettingsError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(selectors.import_as_dict(record))


class ProductSettingsAPI(ConsoleAPIView):
    @extend_schema(
        operation_id="console_products_settings_list", tags=["console products"],
        parameters=[OpenApiParameter("offset", int, required=False), OpenApiParameter("limit", int, required=False)],
        responses={200: inline_serializer("ProductSettingsPage", {
            "count": serializers.IntegerField(), "results": serializers.ListField(child=serializers.DictField())})},
        description="The product subscription settings in force (what the purchase post and the feed read).")
    def get(self, request: Request) -> Response:
        try:
            offset = strict_int(request.query_params.get("offset", "0"), maximum=INT32_MAX, what="offset")
            limit = min(strict_int(request.query_params.get("limit", "100"), minimum=1, maximum=INT32_MAX,
                                   what="limit"), 1000)
        except InputError as exc:
            return Response({"detail": f"{exc}."}, status=status.HTTP_400_BAD_REQUEST)
        count, rows = selectors.product_settings_list(request.user.store, offset=offset, limit=limit)
        return Response({"count": count, "results": rows})
