"""Analysis: coverage tiers, per-district tables and gap areas (pure functions, no I/O)."""

from .coverage import ALL, district_table, tier_labels, weighted_quantile
from .gaps import gap_areas

__all__ = ["ALL", "district_table", "gap_areas", "tier_labels", "weighted_quantile"]
