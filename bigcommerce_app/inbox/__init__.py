"""The BigCommerce webhook inbox: `POST /webhooks/bigcommerce` stores each event before acknowledging it, a
worker hands it to the handler registered for its scope (bigcommerce_app.registry), and a sweeper re-enqueues
whatever the broker or a dead worker left behind.

checks.py: what a delivery must be (pure); intake.py: authenticate, store (group commit) and hand to the relay
(the hot path); relay.py: publishes stored ids to the broker off the request path; services.py: process, sweep
and replay; tasks.py: thin Celery entry points. InboundEvent is a durable job (middleware.plumbing.jobs): the
relay and the services enqueue by registered task name, so only tasks.py imports services.py and nothing
imports tasks.py.

May import: middleware.plumbing, bigcommerce_app's models and registry. Never the apps that handle events.
"""
