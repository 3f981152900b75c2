"""The documentation, the API docstrings and the notebooks."""
