"""Shapes of /console/api/activity/... (plain Serializers: read-only, no model magic on these paths)."""

from __future__ import annotations

from rest_framework import serializers


class DayCountSerializer(serializers.Serializer):
    date = serializers.DateField()
    events = serializers.IntegerField()
    succeeded = serializers.IntegerField(help_text="Deliveries succeeded (including 409 already received and 207).")
    failed = serializers.IntegerField()
    waiting = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):
    days = DayCountSerializer(many=True)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    scope = serializers.CharField()
    resource_id = serializers.CharField()
    event_hash = serializers.CharField()
    status = serializers.CharField()
    result = serializers.CharField()
    attempts = serializers.IntegerField()
    signature = serializers.CharField()
    received_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    can_replay = serializers.BooleanField()


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField(allow_null=True)
    status_code = serializers.IntegerField(allow_null=True)
    outcome = serializers.CharField()
    error = serializers.CharField()
    request_summary = serializers.JSONField(help_text="Method, URL, headers and body with secrets masked.")
    response_excerpt = serializers.CharField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    key = serializers.CharField()
    merchant_order_id = serializers.CharField()
    merchant_user_id = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    subs_req_id = serializers.CharField(allow_null=True)
    purchase_post_result = serializers.JSONField(allow_null=True)
    can_replay = serializers.BooleanField()


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_rows = AttemptSerializer(many=True)


class ActivityErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
