"""Rows as the page and the JSON show them (no secrets: requests are summarised by the client, masked)."""

from __future__ import annotations

from bigcommerce_app.models import InboundEvent
from ordergroove.models import Delivery, PurchasePost


def event_row(event: InboundEvent) -> dict:
    return {"id": event.pk, "scope": event.scope, "resource_id": event.resource_id, "event_hash": event.event_hash,
            "status": event.status, "status_label": InboundEvent.Status(event.status).label,
            "result": event.result, "attempts": event.attempts,
            "signature": event.signature, "received_at": event.received_at, "processed_at": event.processed_at,
            "next_attempt_at": event.next_attempt_at,
            "can_replay": event.status in (InboundEvent.Status.FAILED, InboundEvent.Status.SKIPPED,
                                           InboundEvent.Status.DONE)}


def delivery_row(delivery: Delivery) -> dict:
    post: PurchasePost | None = getattr(delivery, "purchase_post", None) if delivery.kind == "purchase_post" else None
    result = None
    if post is not None:
        result = {"state": post.status_state, "has_subscriptions": post.has_subscriptions,
                  "subscribed_products": post.subscribed_products, "customer": post.result_customer,
                  "payment": post.result_payment, "subscriptions": post.result_subscriptions,
                  "errors": post.result_errors}
    return {"id": delivery.pk, "kind": delivery.kind, "kind_label": Delivery.Kind(delivery.kind).label,
            "key": delivery.key, "merchant_order_id": delivery.merchant_order_id,
            "merchant_user_id": delivery.merchant_user_id, "status": delivery.status,
            "status_label": Delivery.Status(delivery.status).label,
            "attempts": delivery.attempts, "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error, "notes": delivery.notes, "created_at": delivery.created_at,
            "completed_at": delivery.completed_at, "next_attempt_at": delivery.next_attempt_at,
            "subs_req_id": post.subs_req_id if post else None, "purchase_post_result": result,
            "can_replay": delivery.status == Delivery.Status.FAILED}


def delivery_detail(delivery: Delivery) -> dict:
    row = delivery_row(delivery)
    row["attempt_rows"] = [
        {"number": a.number, "started_at": a.started_at, "duration_ms": a.duration_ms, "status_code": a.status_code,
         "outcome": a.outcome, "error": a.error, "request_summary": a.request_summary,
         "response_excerpt": a.response_excerpt}
        for a in delivery.attempt_rows.all()]
    return row
