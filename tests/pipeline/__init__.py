"""The whole pipeline on a small study, and its progress reports."""
