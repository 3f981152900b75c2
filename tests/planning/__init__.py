"""Planning: what-if, site selection, scenarios."""
