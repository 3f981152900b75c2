"""Readers: every file format circle15 understands, each returning model objects."""

from .boundaries import read_districts
from .crs import study_crs
from .facilities import read_facilities
from .network import read_network
from .population import read_population

__all__ = ["read_districts", "read_facilities", "read_network", "read_population", "study_crs"]
