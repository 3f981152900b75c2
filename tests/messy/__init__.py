"""Messy planner inputs built by seeded code, each with the truth it plants (synthetic)."""
