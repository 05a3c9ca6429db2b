"""The console page of the events Ordergroove sent and the orders it placed (reads ordergroove.events)."""
