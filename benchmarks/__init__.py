"""circle15's benchmark suite against pandana, networkx and the osmnx isochrone recipe."""
