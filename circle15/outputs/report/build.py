"""Put the report together: the sections in page order inside the page template."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ... import __version__
from ..atomic import write_text
from ..manifest import versions
from ..reproducible import source_date
from ..templating import package_text, render
from .assessment import comparison_section, equity_section, index_section
from .context import PACKAGE, ReportContext
from .coverage import categories_section, map_section, summary_section
from .progress import barriers_section, targets_section
from .provenance import parameters_section, sources_section

if TYPE_CHECKING:
    from ...result import CoverageResult

__all__ = ["SECTIONS", "TOC", "build_report", "write_report"]

#: The report's sections in page order; each returns the section's HTML, or None to be
#: left out. A new analysis adds its section by adding a function here.
SECTIONS: list[Callable[[ReportContext], Markup | None]] = [
    summary_section,
    map_section,
    categories_section,
    barriers_section,
    equity_section,
    index_section,
    targets_section,
    comparison_section,
    sources_section,
    parameters_section,
]
#: Table of contents: section anchor and label, shown when the section is there.
TOC = [
    ("summary", "概要 Summary"),
    ("map", "地图 Map"),
    ("categories", "分类别 By category"),
    ("barriers", "台阶阻隔 Steps"),
    ("equity", "均衡性 Equity"),
    ("index", "指数 Index"),
    ("targets", "目标 Targets"),
    ("comparison", "对标 Comparison"),
    ("sources", "数据来源 Sources"),
    ("parameters", "参数 Parameters"),
]


def build_report(
    result: CoverageResult,
    *,
    inputs: dict[str, Path] | None = None,
    config: Path | None = None,
    started: datetime | None = None,
    map_file: str | None = "map.html",
) -> str:
    """The report of a run as one self-contained HTML page.

    Parameters
    ----------
    result : CoverageResult
        The run.
    inputs : dict, optional
        Input files by config field; listed with their SHA-256 under data sources.
    config : Path, optional
        The study file; listed with its SHA-256.
    started : datetime, optional
        When the run started (default: now); printed as the run date.
    map_file : str or None, default "map.html"
        The map beside the report, embedded in an ``<iframe>`` and linked; ``None`` for none.

    Returns
    -------
    str
        The page: inline CSS and SVG, no script, nothing loaded from outside except the
        relative ``map_file``. Printed (e.g. to PDF by Chromium) every table fits an A4
        page, wide ones on landscape pages, and each category has a static map.
    """
    ctx = ReportContext(result, dict(inputs or {}), config, started or datetime.now(UTC), map_file)
    sections = [s for s in (section(ctx) for section in SECTIONS) if s]
    joined = "\n".join(sections)
    toc = [(anchor, label) for anchor, label in TOC if f"id={anchor}>" in joined]
    started_utc = ctx.started.astimezone(UTC)
    now = source_date() or datetime.now(UTC)
    return render(
        PACKAGE,
        "report.html",
        title=result.title,
        synthetic=result.synthetic,
        notice=result.notice,
        css=Markup(package_text(PACKAGE, "report.css")),
        sections=sections,
        toc=toc,
        version=__version__,
        run_date=started_utc.strftime("%Y-%m-%d %H:%M UTC"),
        run_iso=started_utc.isoformat(timespec="seconds"),
        now=now.strftime("%Y-%m-%d %H:%M UTC"),
        versions=", ".join(f"{k} {v}" for k, v in versions().items()),
    )


def write_report(result: CoverageResult, path: Path | str, **kwargs: Any) -> Path:
    """Write :func:`build_report` to ``path`` atomically and return ``path``."""
    return write_text(Path(path), build_report(result, **kwargs))
