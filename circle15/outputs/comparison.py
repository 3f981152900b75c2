"""Write a comparison with a reference index: tables, chart and a page of its own.

``comparison.csv`` (side by side), ``comparison_spearman.csv`` (rank correlations, with
the units left out of each), ``comparison_unmatched.csv`` (reference rows that matched
nothing, when there are any), ``comparison.xlsx`` (the same three as sheets),
``comparison.svg`` (ours and theirs per unit, one panel per indicator) and
``comparison.html`` (all of it on one page). Every file is written atomically; no CSV or
XLSX cell can run as a formula and every name is escaped in the SVG and HTML.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..analysis.compare import Comparison
from .atomic import write_text
from .report.assessment import build_comparison_page, comparison_chart, left_out
from .reproducible import FIXED_DATE, source_date
from .safe_text import clean_control
from .spreadsheet import write_csv, write_xlsx

__all__ = ["comparison_svg", "spearman_frame", "write_comparison"]

_DECIMALS = 4


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype.kind == "f":
            frame[col] = frame[col].round(_DECIMALS)
    return frame


def spearman_frame(comparison: Comparison) -> pd.DataFrame:
    """The rank correlations as written, with ``left_out``: the units not counted, by name."""
    table = comparison.spearman.copy()
    dropped = left_out(comparison)
    if dropped or "left_out" in table.columns:
        table["left_out"] = ["; ".join(dropped.get(str(name), [])) for name in table["indicator"]]
    return table


def comparison_svg(comparison: Comparison, *, title: str = "", synthetic: bool = False) -> str:
    """The comparison chart as a standalone SVG file (text kept as text, so Chinese names
    stay readable and searchable)."""
    heading = title or "circle15 vs reference index"
    if comparison.reference:
        heading += f" · reference: {comparison.reference}"
    chart = comparison_chart(comparison, heading=heading, synthetic=synthetic)
    # XML 1.0 cannot hold control characters (a name pasted from Word): spaces instead
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + clean_control(str(chart)) + "\n"


def write_comparison(
    comparison: Comparison,
    out_dir: Path,
    *,
    title: str = "",
    synthetic: bool = False,
    notice: str = "",
) -> dict[str, Path]:
    """Write the comparison's files into ``out_dir`` and return them by name.

    ``comparison_unmatched.csv`` (and its sheet) only when reference rows were left out;
    an earlier run's list is removed when none are now.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table, spearman = _rounded(comparison.table), _rounded(spearman_frame(comparison))
    unmatched = comparison.unmatched if len(comparison.unmatched) else None
    paths = {
        "comparison.csv": write_csv(table, out_dir / "comparison.csv"),
        "comparison_spearman.csv": write_csv(spearman, out_dir / "comparison_spearman.csv"),
    }
    if unmatched is not None:
        paths["comparison_unmatched.csv"] = write_csv(
            unmatched, out_dir / "comparison_unmatched.csv"
        )
    else:
        (out_dir / "comparison_unmatched.csv").unlink(missing_ok=True)
    sheets = {"comparison": table, "spearman": spearman}
    if unmatched is not None:
        sheets["unmatched"] = unmatched
    # no run date inside: the same comparison gives the same bytes
    paths["comparison.xlsx"] = write_xlsx(
        sheets, out_dir / "comparison.xlsx", started=source_date() or FIXED_DATE
    )
    paths["comparison.svg"] = write_text(
        out_dir / "comparison.svg", comparison_svg(comparison, title=title, synthetic=synthetic)
    )
    paths["comparison.html"] = write_text(
        out_dir / "comparison.html",
        build_comparison_page(comparison, title=title, synthetic=synthetic, notice=notice),
    )
    return paths
