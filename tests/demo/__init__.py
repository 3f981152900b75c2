"""The demo: its committed data, its run and its outputs."""
