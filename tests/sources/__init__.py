"""Reading inputs: OSM, centrelines, facility and census tables, population, CRS, caches."""
