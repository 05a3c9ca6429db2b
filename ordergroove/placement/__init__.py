"""Ordergroove's recurring orders placed into BigCommerce (issue 7)."""
