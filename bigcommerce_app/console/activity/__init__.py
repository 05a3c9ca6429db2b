"""Console activity (issue 4): inbound BigCommerce events and outbound Ordergroove deliveries per store,
filterable, with counts per day and replay."""
