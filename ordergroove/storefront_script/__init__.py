"""The storefront script the service installs through BigCommerce's Scripts API (issue 13, DECISIONS §4)."""
