"""BigCommerce → Ordergroove sync (issue 4): purchase post per order, contact details, default payment.

payloads.py builds Ordergroove's request objects from BigCommerce data (pure functions); instruments.py finds a
customer's payment instrument (BigCommerce stored instruments or the payment gateway of seed 004);
purchase_posts.py (order created) and customers.py (customer changes) turn inbox events into deliveries;
sending.py calls Ordergroove for one claimed delivery and settles the outcome; services.py claims and sends a
delivery (the task's body), enqueues what is due and replays; tasks.py is the thin Celery entry points; handlers.py
is what the inbox calls per webhook scope. Delivery is a durable job (middleware.plumbing.jobs): enqueueing is by
registered task name, so nothing here imports tasks.py.

May import: middleware.plumbing, the vendor clients (bigcommerce_app.client, ordergroove.client and allowance),
bigcommerce_app's models, inbox outcomes, registry and alerts, ordergroove's models and feeds' product settings.
"""
