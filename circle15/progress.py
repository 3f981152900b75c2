"""Progress of long work, written to stderr: a line per step, a bar for long steps.

:meth:`Progress.step` times a step and prints one line for it; :meth:`Progress.bar`
follows work of known size inside a step (the bytes of an OSM file, rows of a table).

- In an interactive terminal (tqdm): a running step shows its elapsed time on a live
  line, replaced by ``name ... 0.42 s`` when it ends; a bar shows done/total, rate and
  time left and disappears when done. Every step, reading or writing, thus shows that it
  is moving.
- Elsewhere (a log file, CI, a pipe): ``name ... 0.42 s`` per step, and for a bar a line
  at every tenth of the work, at most one every two seconds, so that logs stay short but
  a long read is seen moving.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

PREFIX = "[circle15]"
#: Non-interactive bar lines: one per this share of the work …
LINE_EVERY_SHARE = 0.1
#: … and no more often than this (seconds).
LINE_EVERY_S = 2.0
#: A step's live line appears after this long (seconds), refreshed this often.
LIVE_AFTER_S = 0.5
LIVE_REFRESH_S = 0.25


class Progress:
    """Print one line per step with its duration; silent when ``enabled`` is False.

    Parameters
    ----------
    enabled : bool
        False prints nothing (the step timings are still kept).
    stream : text stream, optional
        Where to write (default ``sys.stderr``).
    bars : bool, optional
        Live lines and bars (tqdm); default: when ``stream`` is an interactive terminal.
    """

    def __init__(
        self, enabled: bool = True, stream: TextIO | None = None, bars: bool | None = None
    ) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.timings: dict[str, float] = {}
        self._bars = bars
        self._open_line = False  # a step's "name ..." waits for its time on this line
        self._live: _Live | None = None  # the live line or bar being drawn

    @property
    def interactive(self) -> bool:
        """True when live lines and bars are drawn (an interactive terminal, by default)."""
        if self._bars is not None:
            return self._bars
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def _print(self, text: str, end: str = "\n") -> None:
        if self._live is not None:  # above the live line, which tqdm then redraws
            self._live.write(text)
            return
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
        live = None
        if self.enabled:
            if self.interactive and self._live is None:
                live = self._live = _Live(self, f"{PREFIX} {name}", None, "")
            else:
                self._print(f"{PREFIX} {name} ...", end="")
                self._open_line = self._live is None
        outcome = "failed"
        try:
            yield
            elapsed = time.perf_counter() - start
            self.timings[name] = round(elapsed, 3)
            outcome = f"{elapsed:.2f} s"
        finally:
            if self._live is live and live is not None:
                live.close()
                self._live = None
            if self.enabled:
                self._finish(name, outcome)

    def _finish(self, name: str, outcome: str) -> None:
        if self._open_line:  # nothing else was printed since the step began
            print(f" {outcome}", file=self.stream, flush=True)
            self._open_line = False
        else:
            self._print(f"{PREFIX} {name} ... {outcome}")

    @contextmanager
    def bar(self, description: str, total: float, unit: str = "B") -> Iterator[Bar]:
        """Follow work of size ``total``; call ``update(n)`` on the yielded bar.

        ``unit="B"`` shows bytes (kB, MB …); any other unit is shown as counted.
        """
        if not self.enabled:
            yield Bar(None, total, unit)
            return
        if self.interactive:
            outer = self._live
            if outer is not None:
                outer.pause()
            elif self._open_line:
                print(file=self.stream, flush=True)
                self._open_line = False
            live = self._live = _Live(self, f"{PREFIX} {description}", total, unit)
            try:
                yield Bar(live, total, unit)
            finally:
                live.close()
                self._live = outer
                if outer is not None:
                    outer.resume()
            return
        lines = Bar(
            None, total, unit, say=lambda text: self._print(f"{PREFIX}   {description}: {text}")
        )
        yield lines
        lines.last_line()


class _Live:
    """A tqdm line: a step's elapsed time (``total`` None) or a bar, kept fresh by a
    background thread (a step gives tqdm no updates of its own)."""

    def __init__(
        self, progress: Progress, description: str, total: float | None, unit: str
    ) -> None:
        from tqdm import tqdm

        self._tqdm_class = tqdm
        self.stream = progress.stream
        kwargs = (
            {"bar_format": "{desc} ... {elapsed}"}
            if total is None
            else {"unit": unit or "it", "unit_scale": unit == "B", "unit_divisor": 1024}
        )
        self.bar = tqdm(
            total=total,
            desc=description,
            file=self.stream,
            leave=False,
            dynamic_ncols=True,
            mininterval=0.2,
            delay=LIVE_AFTER_S,
            **kwargs,
        )
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._refresh, daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        if self._stop.wait(LIVE_AFTER_S):
            return
        while not self._stop.wait(LIVE_REFRESH_S):
            if not self._paused.is_set():
                self.bar.refresh()

    def write(self, text: str) -> None:
        self._tqdm_class.write(text, file=self.stream)

    def update(self, n: float) -> None:
        self.bar.update(n)

    def pause(self) -> None:
        self._paused.set()
        self.bar.clear()

    def resume(self) -> None:
        self._paused.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.bar.close()


class Bar:
    """What :meth:`Progress.bar` yields: ``update(n)`` adds ``n`` units of work done."""

    def __init__(self, live: _Live | None, total: float, unit: str, say=None) -> None:
        self._live = live
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
        if self._live is not None:
            self._live.update(n)
        elif self._say is not None and self.total > 0:
            share = self.done / self.total
            now = time.perf_counter()
            if (
                share - self._said_share >= LINE_EVERY_SHARE
                and now - self._said_at >= LINE_EVERY_S
                and share < 1
            ):
                self._said_share, self._said_at = share, now
                self._say(self._text(share, now))

    def last_line(self) -> None:
        """The closing line of a non-interactive bar, when it printed any before."""
        if self._say is not None and self._said_share > 0:
            share = min(self.done / self.total, 1.0) if self.total else 1.0
            self._say(self._text(share, time.perf_counter()))

    def _text(self, share: float, now: float) -> str:
        return (
            f"{share:4.0%} ({_amount(self.done, self.unit)} of "
            f"{_amount(self.total, self.unit)}, {now - self._started:.1f} s)"
        )


def _amount(value: float, unit: str) -> str:
    if unit != "B":
        return f"{value:,.0f} {unit}"
    for name, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if value >= size:
            return f"{value / size:.1f} {name}"
    return f"{value:.0f} B"


QUIET = Progress(enabled=False)
