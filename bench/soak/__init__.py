"""The soak (issue 14): the production topology on this machine under a mixed load and scheduled faults, then a
reconciliation of what BigCommerce sent with what Ordergroove and the SFTP drop-off received. Entry point:
bench/soak.py."""
