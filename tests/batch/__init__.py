"""``circle15 batch``: many regions, combined tables."""
