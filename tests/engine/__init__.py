"""The walking engine: snapping, routing, catchments, step-free profiles, sites."""
