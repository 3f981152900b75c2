"""``python -m benchmarks``: the benchmark suite (see ``benchmarks/run.py``)."""

from .run import main

raise SystemExit(main())
