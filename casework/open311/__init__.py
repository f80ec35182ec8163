"""Open311 GeoReport v2 (JSON) with the mySociety updates extension, over the same services as the REST API."""
