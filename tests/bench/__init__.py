"""The benchmark suite (``benchmarks/``) and how it reports."""
