"""The unit tree: ministry → province → city → county, for civil affairs and discipline."""
