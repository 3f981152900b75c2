"""The demo's example reference table: the format ``circle15 compare`` reads, made-up values.

The values are invented to show the layout (long table: unit, indicator, value); they are
not Ningbo's published 均衡可及优质指数 and say nothing about the real Zhenhai. Units mix
Chinese and English names, and indicators mix Chinese and English names, to show that
both are matched.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: Output file, relative to the demo folder.
REFERENCE_FILE = "reference/zhenhai_reference_example.csv"

NOTE = (
    "EXAMPLE of the reference format with made-up values; not Ningbo's published "
    "index and not a measurement of Zhenhai"
)

#: (unit as a reference might write it, composite, 可及, 均衡, 优质, 托育覆盖率, 助餐覆盖率)
_ROWS = [
    ("招宝山街道", 86.2, 88.0, 84.5, 86.1, 0.92, 0.95),
    ("Jiaochuan Subdistrict", 80.5, 82.3, 79.0, 80.2, 0.86, 0.88),
    ("骆驼街道", 83.9, 85.1, 81.8, 84.8, 0.90, 0.84),
    ("Zhuangshi", 81.7, 80.6, 83.2, 81.3, 0.84, 0.81),
    ("贵驷街道", 72.4, 66.9, 75.8, 74.5, 0.61, 0.58),
    ("Xiepu Town", 70.8, 68.2, 71.9, 72.3, 0.55, 0.66),
    ("九龙湖镇", 61.3, 52.7, 66.4, 64.8, 0.12, 0.35),
    ("镇海区", 78.6, 76.4, 79.2, 80.1, 0.78, 0.74),
]
_INDICATORS = [
    "综合指数",
    "accessibility",
    "均衡",
    "quality",
    "托育覆盖率",
    "coverage_elderly_canteen",
]


def reference_example() -> pd.DataFrame:
    """The example reference table: ``unit, indicator, value, provenance, note``."""
    records = [
        {"unit": unit, "indicator": name, "value": value, "provenance": "synthetic", "note": NOTE}
        for unit, *values in _ROWS
        for name, value in zip(_INDICATORS, values, strict=True)
    ]
    return pd.DataFrame(records)


def write_reference_example(out_dir: Path) -> Path:
    """Write the example reference table under ``out_dir`` (UTF-8, ``\\n`` line ends)."""
    path = Path(out_dir) / REFERENCE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    reference_example().to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path
