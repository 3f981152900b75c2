"""Progress of long work, written to stderr: a line per step, a bar for long steps.

:meth:`Progress.step` times a step and prints one line for it. Inside a step,
:meth:`Progress.bar` follows work of known size (bytes of a file, rows of a table): in an
interactive terminal it draws a tqdm bar that disappears when done; elsewhere (a log file,
CI, a pipe) it prints a line at every tenth of the work, at most one every two seconds, so
that logs stay short but show that a long read is moving.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

PREFIX = "[circle15]"
#: Non-interactive progress lines: one per this share of the work …
LINE_EVERY_SHARE = 0.1
#: … and no more often than this (seconds).
LINE_EVERY_S = 2.0


class Progress:
    """Print one line per step with its duration; silent when ``enabled`` is False.

    Parameters
    ----------
    enabled : bool
        False prints nothing (the step timings are still kept).
    stream : text stream, optional
        Where to write (default ``sys.stderr``).
    bars : bool, optional
        Draw tqdm bars; default: when ``stream`` is an interactive terminal.
    """

    def __init__(self, enabled: bool = True, stream: TextIO | None = None,
                 bars: bool | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.timings: dict[str, float] = {}
        self._bars = bars
        self._open_line = False  # a step's "name ..." waits for its time on this line

    @property
    def interactive(self) -> bool:
        """True when bars are drawn (an interactive terminal, unless told otherwise)."""
        if self._bars is not None:
            return self._bars
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def _print(self, text: str, end: str = "\n") -> None:
        if self._open_line:
            print(file=self.stream)
            self._open_line = False
        print(text, end=end, file=self.stream, flush=True)

    def say(self, message: str) -> None:
        """Print a line (when enabled)."""
        if self.enabled:
            self._print(f"{PREFIX} {message}")

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step; prints ``name ... 0.42 s``."""
        start = time.perf_counter()
        if self.enabled:
            self._print(f"{PREFIX} {name} ...", end="")
            self._open_line = True
        try:
            yield
        except BaseException:
            if self.enabled:
                self._finish(name, "failed")
            raise
        elapsed = time.perf_counter() - start
        self.timings[name] = round(elapsed, 3)
        if self.enabled:
            self._finish(name, f"{elapsed:.2f} s")

    def _finish(self, name: str, outcome: str) -> None:
        if self._open_line:  # nothing else was printed since the step began
            print(f" {outcome}", file=self.stream, flush=True)
            self._open_line = False
        else:
            self._print(f"{PREFIX} {name}: {outcome}")

    @contextmanager
    def bar(self, description: str, total: float, unit: str = "B") -> Iterator[Bar]:
        """Follow work of size ``total``; call ``update(done)`` on the yielded bar.

        ``unit="B"`` shows bytes (kB, MB …); any other unit is shown as counted.
        """
        if not self.enabled:
            yield Bar(None, total, unit)
            return
        if self.interactive:
            from tqdm import tqdm

            if self._open_line:
                self._print("", end="")
            bar = tqdm(total=total, desc=f"{PREFIX} {description}", unit=unit,
                       unit_scale=True, unit_divisor=1024 if unit == "B" else 1000,
                       file=self.stream, leave=False, dynamic_ncols=True, mininterval=0.2)
            try:
                yield Bar(bar, total, unit)
            finally:
                bar.close()
            return
        lines = Bar(None, total, unit, say=lambda text: self._print(
            f"{PREFIX}   {description}: {text}"))
        yield lines
        lines.last_line()


class Bar:
    """What :meth:`Progress.bar` yields: ``update(n)`` adds ``n`` units of work done."""

    def __init__(self, tqdm_bar, total: float, unit: str, say=None) -> None:
        self._tqdm = tqdm_bar
        self._say = say
        self.total = float(total)
        self.unit = unit
        self.done = 0.0
        self._started = time.perf_counter()
        self._said_share = 0.0
        self._said_at = self._started

    def update(self, n: float) -> None:
        """Add ``n`` units of work done."""
        self.done += n
        if self._tqdm is not None:
            self._tqdm.update(n)
        elif self._say is not None and self.total > 0:
            share = self.done / self.total
            now = time.perf_counter()
            if (share - self._said_share >= LINE_EVERY_SHARE and now - self._said_at >= LINE_EVERY_S
                    and share < 1):
                self._said_share, self._said_at = share, now
                self._say(self._text(share, now))

    def last_line(self) -> None:
        """The closing line of a non-interactive bar, when it printed any before."""
        if self._say is not None and self._said_share > 0:
            self._say(self._text(min(self.done / self.total, 1.0) if self.total else 1.0,
                                 time.perf_counter()))

    def _text(self, share: float, now: float) -> str:
        return (f"{share:4.0%} ({_amount(self.done, self.unit)} of "
                f"{_amount(self.total, self.unit)}, {now - self._started:.1f} s)")


def _amount(value: float, unit: str) -> str:
    if unit != "B":
        return f"{value:,.0f} {unit}"
    for name, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if value >= size:
            return f"{value / size:.1f} {name}"
    return f"{value:.0f} B"


QUIET = Progress(enabled=False)
