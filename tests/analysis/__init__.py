"""The analysis: coverage, gaps, grids, supply, equity, the index, checks, comparison, diff."""
