"""Checks after snapping, and what a run's diagnostics say in plain language.

:func:`check_snapping` stops a run in which no resident or no facility of a category is
near a street; :func:`population_without_facility` counts residents on network pieces
without a facility; :func:`population_method` says how the residents and each cohort were
obtained; :func:`run_warnings` turns the diagnostics into warnings.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..model import OPEN_AGE, PopulationGrid
from ..sources.population import population_summary


def check_snapping(
    cells_snapped: np.ndarray, facilities_snapped: dict[str, np.ndarray], max_snap_m: float
) -> None:
    """Stop when no resident, or no facility of a category, is near any street.

    Every result would then be "unreachable": a wrong CRS or a network for another area,
    not a finding.
    """
    if len(cells_snapped) and not cells_snapped.any():
        raise InputError(
            f"population: none of the {len(cells_snapped):,} populated cells is within "
            f"{max_snap_m:g} m of a street (analysis.max_snap_m); check that the network "
            "and the population cover the same area in the same coordinate system"
        )
    for key, snapped in facilities_snapped.items():
        if len(snapped) and not snapped.any():
            raise InputError(
                f"facilities ({key}): none of the {len(snapped):,} facilities is within "
                f"{max_snap_m:g} m of a street (analysis.max_snap_m); check their "
                "coordinates and crs, or that the network covers them"
            )


def population_without_facility(
    piece_of_cell: np.ndarray, pieces_with_facility: np.ndarray, cohort: np.ndarray
) -> float:
    """Residents on network pieces where no facility of the category stands.

    Parameters
    ----------
    piece_of_cell : ndarray of int
        Connected piece of each cell's street node; -1 for cells off the network.
    pieces_with_facility : ndarray of int
        Pieces holding at least one snapped facility of the category.
    cohort : ndarray of float
        The category's residents per cell.
    """
    on_network = piece_of_cell >= 0
    stranded = on_network & ~np.isin(piece_of_cell, pieces_with_facility)
    return float(cohort[stranded].sum())


#: Share of residents beyond the snap limit above which the population's spread is
#: questioned.
SPREAD_WARNING_SHARE = 0.01


def population_method(population: PopulationGrid, categories: dict) -> dict:
    """How the residents and each category's cohort were obtained, for the manifest and
    the report (``diagnostics["population_method"]``).

    Returns
    -------
    dict
        The reader's ``method`` (``source``, ``file``, ``residents``, ``spread_by``,
        ``age_structure``), ``bands`` (the age bands present), ``cohorts`` (per category:
        its ages and the bands it takes, with the share taken where a band is split
        evenly across its single years of age) and ``text``, the same in one paragraph.
    """
    method = dict(population.method)
    bands = [{"column": b.column, "ages": _ages(b.age_min, b.age_max)} for b in population.bands]
    cohorts, split_text = {}, []
    for key, cat in categories.items():
        parts = []
        for b in population.bands:
            lo, hi = max(cat.age_min, b.age_min), min(cat.age_max, b.age_max)
            if hi < lo:
                continue
            share = 1.0 if b.age_max >= OPEN_AGE else (hi - lo + 1) / b.years
            parts.append({"band": b.column, "share": round(share, 4)})
            if share < 1:
                split_text.append(
                    f"{b.column} ({_ages(b.age_min, b.age_max)}) × "
                    f"{share:.2f} for {key} ({_ages(cat.age_min, cat.age_max)})"
                )
        whole = cat.age_min <= 0 and cat.age_max >= OPEN_AGE
        cohorts[key] = {
            "ages": _ages(cat.age_min, cat.age_max),
            "from": "pop_total" if whole else parts,
        }
    split = (
        "bands split evenly across their single years of age: "
        + "; ".join(dict.fromkeys(split_text))
        if split_text
        else "no age band had to be split"
    )
    method.update(bands=bands, cohorts=cohorts, split=split)
    text = population_summary(population.method)
    if population.bands:
        text += f"; age bands: {', '.join(b['column'] for b in bands)}; {split}"
    method["text"] = text
    return method


def _ages(lo: int, hi: int) -> str:
    return f"{lo}+" if hi >= OPEN_AGE else (f"{lo}" if lo == hi else f"{lo}-{hi}")


def run_warnings(diagnostics: dict, categories: dict) -> list[str]:
    """Plain-language warnings from a run's diagnostics, to read next to its figures."""
    out = []
    if diagnostics.get("unsnapped_cells"):
        out.append(
            f"{diagnostics['unsnapped_cells']:,} populated cells "
            f"({diagnostics['unsnapped_population']:,.0f} residents) are farther than the snap "
            "limit from every street; they count as unreachable (see analysis.max_snap_m)"
        )
        method = diagnostics.get("population_method", {})
        share = diagnostics["unsnapped_population"] / max(diagnostics.get("population", 0), 1)
        if method.get("source") == "census" and share > SPREAD_WARNING_SHARE:
            better = (
                "weights = a layer of residential buildings (weight_field = floors) or "
                "residential land use (weight_field and residential_values)"
                if method.get("spread_by") == "land area"
                else "finer census areas, or a building layer with floors as weight_field"
            )
            out.append(
                f"the census spread (by {method.get('spread_by')}) puts {share:.1%} of the "
                "residents beyond the snap limit of every street (fields, water, hills): "
                f"spread them where people live with [population] {better}"
            )
    stranded = {
        k: v for k, v in diagnostics.get("population_without_facility", {}).items() if v > 0
    }
    if diagnostics.get("network_pieces", 1) > 1 and (
        stranded or diagnostics.get("population_off_main_network")
    ):
        text = (
            f"the walking network has {diagnostics['network_pieces']:,} separate pieces; "
            f"{diagnostics.get('population_off_main_network', 0):,.0f} residents live on "
            "pieces other than the largest"
        )
        if stranded:
            parts = [
                f"{categories[k].name_en if k in categories else k} "
                f"{v:,.0f} ({categories[k].cohort_label if k in categories else ''})"
                for k, v in stranded.items()
            ]
            text += (
                "; residents on pieces without any facility of the category, who count "
                "as unreachable: " + ", ".join(parts)
            )
        out.append(text)
    for key, ids in diagnostics.get("unsnapped_facilities", {}).items():
        if ids:
            shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
            out.append(
                f"{len(ids)} {key} facilities are too far from any street and were "
                f"left out: {shown}"
            )
    return out
