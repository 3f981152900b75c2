"""Seeded builder of the embedded "zhenhai" demo: real outline and census, synthetic rest."""
