"""BigCommerce → Ordergroove sync (issue 4): purchase post per order, contact details, default payment.

payloads.py builds Ordergroove's request objects from BigCommerce data (pure functions); instruments.py finds a
customer's payment instrument (BigCommerce stored instruments or the payment gateway of seed 004); services.py
turns inbox events into deliveries and sends them; handlers.py is what the inbox calls per webhook scope.
"""
