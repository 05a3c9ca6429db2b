"""The BigCommerce webhook inbox: `POST /webhooks/bigcommerce` stores each event before acknowledging it, a
worker hands it to the handler registered for its scope (bigcommerce_app.registry), and a sweeper re-enqueues
whatever the broker or a dead worker left behind."""
