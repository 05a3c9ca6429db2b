"""The Import/Export tab and its JSON API over the product settings flow (feeds.products)."""
