"""What every section of the report is written from, and the blocks it is written with.

:class:`ReportContext` holds the run and the files it read; :class:`Table` and
:class:`Cell` describe a table without any markup, so that the templates alone write HTML
(autoescaped) and no text from an input file can become markup on the way.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ...schema import ALL
from ...standards import Category
from ..manifest import file_record
from ..templating import MISSING, render
from ._palette import FACILITY_COLOURS, tier_colours

if TYPE_CHECKING:
    from ...result import CoverageResult

__all__ = [
    "PACKAGE",
    "WIDE_COLUMNS",
    "Cell",
    "ReportContext",
    "Table",
    "decimal",
    "integer",
    "minutes",
    "number",
    "percent",
    "section",
    "table",
    "tier_segments",
]

#: The package whose ``templates/`` folder holds the report's templates.
PACKAGE = "circle15.outputs.report"
#: Tables with more columns than this print on a landscape page.
WIDE_COLUMNS = 10


# --------------------------------------------------------------------------------------
# Numbers as the report shows them (the one place; ``MISSING`` when there is none)
# --------------------------------------------------------------------------------------
def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, NaN, infinite or not a number)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def integer(value: Any) -> str:
    """``12,345``."""
    x = number(value)
    return MISSING if x is None else f"{x:,.0f}"


def decimal(value: Any, places: int = 1) -> str:
    """``12.3`` (``places`` decimals, thousands separated)."""
    x = number(value)
    return MISSING if x is None else f"{x:,.{places}f}"


def percent(value: Any) -> str:
    """A share 0-1 as ``78.2%``."""
    x = number(value)
    return MISSING if x is None else f"{x:.1%}"


def minutes(value: float) -> str:
    """A tier limit or speed as written in labels: ``15``, ``7.5``."""
    return f"{value:g}"


def tier_segments(cat: Category) -> list[tuple[str, str]]:
    """Legend names and colours of a category's walking-time classes, as on the map:
    ``≤5 分钟 min``, ``5–10 分钟 min`` …, ``>15 分钟 min``, ``不可达 unreachable``."""
    t = [minutes(x) for x in cat.tiers_min]
    labels = [f"≤{t[0]} 分钟 min"] + [f"{a}–{b} 分钟 min" for a, b in itertools.pairwise(t)]
    labels += [f">{t[-1]} 分钟 min", "不可达 unreachable"]
    return list(zip(labels, tier_colours(len(t)), strict=True))


# --------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """A table cell with a little structure; its text is always escaped.

    Attributes
    ----------
    text : str
        What the cell says.
    href : str, optional
        Link target (``#cat-childcare``).
    strong, code : bool
        Bold, or in a code font.
    after : str
        Plain text after the main text (``(15 min)``).
    flag : str
        A badge after the text (``未核实 unverified``).
    css : str
        Class of the code element (``c15-hash`` breaks anywhere).
    """

    text: str
    href: str | None = None
    strong: bool = False
    code: bool = False
    after: str = ""
    flag: str = ""
    css: str = ""


@dataclass
class Table:
    """Rows of cells under a header, as the ``table`` macro writes them.

    ``numeric`` are the column indices aligned right; ``classes`` one class (or ``""``)
    per row; ``wide`` tables print on a landscape page.
    """

    headers: Sequence[str]
    rows: list[list[Cell | str]]
    numeric: frozenset[int] = frozenset()
    classes: list[str] | None = None
    caption: str = ""

    def __post_init__(self) -> None:
        self.numeric = frozenset(self.numeric)

    @property
    def wide(self) -> bool:
        """True when the table needs a landscape page in print."""
        return len(self.headers) > WIDE_COLUMNS


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | str]],
    *,
    numeric: Iterable[int] = (),
    classes: list[str] | None = None,
    caption: str = "",
) -> Table:
    """A :class:`Table`; ``rows`` may be any iterable of sequences."""
    return Table(list(headers), [list(r) for r in rows], frozenset(numeric), classes, caption)


def section(template: str, **context: Any) -> Markup:
    """A section template rendered with ``context`` (the page's HTML for it)."""
    return Markup(render(PACKAGE, template, **context))


# --------------------------------------------------------------------------------------
# The context
# --------------------------------------------------------------------------------------
@dataclass
class ReportContext:
    """What the report's sections are written from.

    Attributes
    ----------
    result : CoverageResult
        The run.
    inputs : dict
        Input files by config field (``Study.config.input_files()``); hashed for provenance.
    config : Path or None
        The study file.
    started : datetime
        When the run started (UTC).
    map_file : str or None
        Name of the map beside the report, embedded and linked; ``None`` leaves it out.
    records : dict
        Filled on creation: path, size and SHA-256 of the config and each input.
    """

    result: CoverageResult
    inputs: dict[str, Path] = field(default_factory=dict)
    config: Path | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    map_file: str | None = "map.html"
    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        files = {"config": self.config} if self.config is not None else {}
        files.update(self.inputs)
        self.records = {
            k: file_record(Path(p)) for k, p in files.items() if p is not None and Path(p).is_file()
        }
        zones = self.result.zones
        self._names: dict[Any, str] = {}
        if zones is not None and {"district", "name_en"} <= set(zones.columns):
            self._names = {
                d: en
                for d, en in zip(zones["district"], zones["name_en"], strict=False)
                if isinstance(en, str) and en
            }

    @property
    def categories(self) -> dict[str, Category]:
        """Categories in report order."""
        return self.result.categories

    def colour(self, key: str) -> str:
        """The category's colour on the map and in the charts."""
        i = list(self.categories).index(key)
        return FACILITY_COLOURS[i % len(FACILITY_COLOURS)]

    def category_label(self, key: Any) -> str:
        """``"托育 Childcare"`` for a known key, else the key as text."""
        cat = self.categories.get(key) if isinstance(key, str) else None
        return cat.label if cat is not None else str(key)

    def district_label(self, district: Any) -> str:
        """``"招宝山街道 Zhaobaoshan"`` from the zones' ``name_en``; ``"全区 All"`` for ALL."""
        if district == ALL:
            return "全区 All"
        if district is None or (isinstance(district, float) and math.isnan(district)):
            return MISSING
        en = self._names.get(district)
        return f"{district} {en}" if en and en != district else str(district)
