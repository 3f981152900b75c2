"""Write a comparison with a reference index: side-by-side CSV, Spearman CSV, SVG chart."""

from __future__ import annotations

import io
import logging
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.compare import Comparison
from .atomic import atomic_path, write_text

#: Fonts tried for the chart's Chinese labels; the SVG keeps text as text, so a browser
#: uses whichever of them it has.
CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
             "SimHei", "WenQuanYi Zen Hei", "DejaVu Sans"]
OURS_COLOUR, THEIRS_COLOUR, FLAG_COLOUR = "#1f5fa8", "#e07b00", "#c62828"
_DECIMALS = 4


def _label(row: pd.Series) -> str:
    return f"{row['district']} {row['name_en']}" if row["district"] != row["name_en"] else (
        str(row["district"]))


def comparison_figure(comparison: Comparison, *, title: str = "", synthetic: bool = False):
    """Small multiples, one panel per indicator: ours (dot) and theirs (diamond) per unit,
    joined by a line that turns red where the difference exceeds the tolerance.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # matplotlib loads slowly; only when charting
    from matplotlib.lines import Line2D

    table = comparison.table
    indicators = list(dict.fromkeys(table["indicator"]))
    spearman = comparison.spearman.set_index("indicator")
    cols = 1 if len(indicators) == 1 else 2
    rows = math.ceil(len(indicators) / cols)
    units = max(int(table.groupby("indicator").size().max()), 1)
    panel_h = 0.32 * units + 1.0
    fig = Figure(figsize=(6.2 * cols, panel_h * rows + 1.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, name in zip(axes, indicators, strict=False):
        part = table[table["indicator"] == name].iloc[::-1]
        y = np.arange(len(part))
        ours, theirs = part["ours"].to_numpy(float), part["theirs"].to_numpy(float)
        flag = part["flag"].fillna(False).to_numpy(bool)
        for yi, a, b, f in zip(y, ours, theirs, flag, strict=True):
            ax.plot([a, b], [yi, yi], color=FLAG_COLOUR if f else "#9e9e9e",
                    lw=2.2 if f else 1.2, zorder=1)
        # Hollow diamonds under the dots, so that equal values still show both.
        ax.scatter(theirs, y, s=48, marker="D", facecolor="white", edgecolor=THEIRS_COLOUR,
                   linewidth=1.5, zorder=3)
        ax.scatter(ours, y, s=22, color=OURS_COLOUR, zorder=4)
        ax.set_yticks(y, [_label(r) for _, r in part.iterrows()], fontsize=8)
        for tick, f in zip(ax.get_yticklabels(), flag, strict=True):
            if f:
                tick.set_color(FLAG_COLOUR)
        rho = spearman.loc[name, "rho"] if name in spearman.index else np.nan
        n = int(spearman.loc[name, "units"]) if name in spearman.index else 0
        rho_text = f"ρ = {rho:.2f}" if np.isfinite(rho) else "ρ n/a"
        ax.set_title(f"{name}  ·  Spearman {rho_text} (n = {n})", fontsize=10, loc="left")
        ax.grid(axis="x", color="#e0e0e0", lw=0.6)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_ylim(-0.7, len(part) - 0.3)
    for ax in axes[len(indicators):]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker="o", ls="", color=OURS_COLOUR, label="circle15 (ours)"),
               Line2D([], [], marker="D", ls="", markerfacecolor="white",
                      markeredgecolor=THEIRS_COLOUR, label="reference (theirs)"),
               Line2D([], [], color=FLAG_COLOUR, lw=2.2, label="difference beyond tolerance")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    heading = title or "circle15 vs reference index"
    if comparison.reference:
        heading += f"\nreference: {comparison.reference}"
    fig.suptitle(heading, fontsize=11, x=0.01, ha="left")
    if synthetic:
        fig.text(0.99, 0.995, "SYNTHETIC DEMO DATA", color=FLAG_COLOUR, fontsize=10,
                 fontweight="bold", ha="right", va="top")
    return fig


def comparison_svg(comparison: Comparison, *, title: str = "", synthetic: bool = False) -> str:
    """The comparison chart as SVG text (text kept as text, so Chinese names stay readable
    and searchable), e.g. to inline in an HTML report."""
    import matplotlib

    style = {"svg.fonttype": "none", "font.family": "sans-serif",
             "font.sans-serif": CJK_FONTS, "svg.hashsalt": "circle15"}
    with matplotlib.rc_context(style), warnings.catch_warnings():
        # Missing fonts or glyphs only change text widths in the layout: the browser
        # draws the text with its own fonts.
        warnings.filterwarnings("ignore", message=".*[Gg]lyph.*missing.*")
        level = logging.getLogger("matplotlib.font_manager").level
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        try:
            fig = comparison_figure(comparison, title=title, synthetic=synthetic)
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            logging.getLogger("matplotlib.font_manager").setLevel(level)
    return buffer.getvalue()


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype.kind == "f":
            frame[col] = frame[col].round(_DECIMALS)
    return frame


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        _rounded(frame).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def write_comparison(comparison: Comparison, out_dir: Path, *, title: str = "",
                     synthetic: bool = False) -> dict[str, Path]:
    """Write ``comparison.csv``, ``comparison_spearman.csv``, ``comparison.svg`` and, when
    reference rows were left out, ``comparison_unmatched.csv`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "comparison.csv": _write_csv(comparison.table, out_dir / "comparison.csv"),
        "comparison_spearman.csv": _write_csv(comparison.spearman,
                                              out_dir / "comparison_spearman.csv"),
        "comparison.svg": write_text(out_dir / "comparison.svg",
                                     comparison_svg(comparison, title=title,
                                                    synthetic=synthetic)),
    }
    unmatched = out_dir / "comparison_unmatched.csv"
    if len(comparison.unmatched):
        paths["comparison_unmatched.csv"] = _write_csv(comparison.unmatched, unmatched)
    else:
        unmatched.unlink(missing_ok=True)  # none left out now: drop an earlier run's list
    return paths
