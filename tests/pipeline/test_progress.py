"""Progress: a line per step, bars in a terminal, bar lines in logs; the OSM reader's bar.

Oracle: the text written to the stream, read back (a StringIO stands for stderr; ``bars``
forces the terminal behaviour).
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest

from circle15 import progress as progress_module
from circle15.progress import Progress


def test_steps_print_one_line_each_and_keep_timings():
    out = io.StringIO()
    p = Progress(stream=out, bars=False)
    with p.step("reading boundaries"):
        pass
    with p.step("reading walking network"):
        p.say("network read from the cache")
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"\[circle15\] reading boundaries \.\.\. \d+\.\d\d s", lines[0])
    assert lines[1] == "[circle15] reading walking network ..."
    assert lines[2] == "[circle15] network read from the cache"
    assert re.fullmatch(r"\[circle15\] reading walking network \.\.\. \d+\.\d\d s", lines[3])
    assert set(p.timings) == {"reading boundaries", "reading walking network"}


def test_a_failed_step_says_so_and_raises():
    out = io.StringIO()
    p = Progress(stream=out, bars=False)
    with pytest.raises(ValueError), p.step("reading population"):
        raise ValueError("bad")
    assert out.getvalue() == "[circle15] reading population ... failed\n"
    assert "reading population" not in p.timings


def test_quiet_prints_nothing_but_times():
    out = io.StringIO()
    p = Progress(enabled=False, stream=out)
    with p.step("x"), p.bar("reading", 100) as bar:
        bar.update(100)
    assert out.getvalue() == "" and "x" in p.timings


def test_bar_in_a_log_prints_a_line_per_tenth_at_most_every_two_seconds(monkeypatch):
    monkeypatch.setattr(progress_module, "LINE_EVERY_S", 0.0)
    out = io.StringIO()
    p = Progress(stream=out, bars=False)
    with p.step("reading walking network"), p.bar("reading x.osm.pbf", 100 << 20) as bar:
        for _ in range(100):
            bar.update(1 << 20)  # 1 MB at a time
    text = out.getvalue()
    lines = [line for line in text.splitlines() if "x.osm.pbf" in line]
    assert len(lines) == 10, text  # at 10 %, 20 % … 90 %, and the closing line
    assert lines[0].startswith("[circle15]   reading x.osm.pbf:  10% (10.0 MB of 100.0 MB")
    assert lines[-1].startswith("[circle15]   reading x.osm.pbf: 100% (100.0 MB of 100.0 MB")
    assert re.search(r"reading walking network \.\.\. \d+\.\d\d s$", text.strip())
    # a fast read prints no bar lines at all
    monkeypatch.setattr(progress_module, "LINE_EVERY_S", 60.0)
    out = io.StringIO()
    with Progress(stream=out, bars=False).bar("quick", 10) as bar:
        bar.update(10)
    assert out.getvalue() == ""


def test_terminal_draws_a_bar_and_live_steps_with_lines_above(monkeypatch):
    monkeypatch.setattr(progress_module, "LIVE_AFTER_S", 0.0)
    out = io.StringIO()
    p = Progress(stream=out, bars=True)
    with p.step("reading walking network"):
        with p.bar("reading x.osm.pbf", 1000) as bar:
            for _ in range(10):
                bar.update(100)
                time.sleep(0.03)
            p.say("a note while the bar runs")
        time.sleep(0.3)  # the step's live line shows its elapsed time
    text = out.getvalue()
    assert "reading x.osm.pbf" in text and "100%" in text  # tqdm's bar
    assert "a note while the bar runs" in text
    assert re.search(r"\[circle15\] reading walking network \.\.\. \d\d:\d\d", text)
    assert re.search(r"\[circle15\] reading walking network \.\.\. \d+\.\d\d s\n$", text)


def test_the_osm_reader_shows_its_bar(tmp_path, monkeypatch):
    from circle15.sources import osm_ways
    from circle15.sources.osm_filter import WALK_FILTER

    from ..factories.osm_files import quirks_file

    pbf = quirks_file(tmp_path / "town.osm.pbf")
    monkeypatch.setattr(osm_ways, "PIECES_FROM_BYTES", 0)
    monkeypatch.setattr(osm_ways, "PIECE_BYTES", 1)  # one libosmium call per block
    monkeypatch.setattr(progress_module, "LINE_EVERY_S", 0.0)
    monkeypatch.setattr(progress_module, "LINE_EVERY_SHARE", 0.0)
    out = io.StringIO()
    ways = osm_ways.read_walk_ways(Path(pbf), WALK_FILTER, Progress(stream=out, bars=False))
    assert ways.n_ways > 5
    lines = [line for line in out.getvalue().splitlines() if "reading town.osm.pbf" in line]
    assert lines and lines[-1].endswith(")") and "100%" in lines[-1]
