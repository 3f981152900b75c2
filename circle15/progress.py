"""Per-step progress log for long work, written to stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Print one line per step with its duration; silent when ``enabled`` is False."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.timings: dict[str, float] = {}

    def say(self, message: str) -> None:
        """Print a line (when enabled)."""
        if self.enabled:
            print(f"[circle15] {message}", file=self.stream, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step; prints ``name ... done in 0.42 s``."""
        start = time.perf_counter()
        if self.enabled:
            print(f"[circle15] {name} ...", end="", file=self.stream, flush=True)
        try:
            yield
        except BaseException:
            if self.enabled:
                print(" failed", file=self.stream, flush=True)
            raise
        elapsed = time.perf_counter() - start
        self.timings[name] = round(elapsed, 3)
        if self.enabled:
            print(f" {elapsed:.2f} s", file=self.stream, flush=True)


QUIET = Progress(enabled=False)
