"""Ordergroove webhooks: order, subscription, subscriber and item events (seed 003, ordergroove.md §9)."""
