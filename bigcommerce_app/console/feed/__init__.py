"""The Product feed tab and its JSON API over the feed flow (feeds.feed) and the feed settings owner."""
