"""Steps on the synthetic streets: where a stroller, walker or wheelchair cannot pass.

Marked after the facilities are placed (they front ordinary streets either way), seeded
like every draw of the demo:

- the local canal bridges of the 骆驼 core become stone arch bridges with steps
  (江南 石拱桥), so that step-free walks cross the canal at the road bridges only;
- in the old town of 招宝山, on the slopes of the hill, a share of the lanes are stepped
  lanes (``highway=steps``);
- a share of the park paths in the three big cores are flights of steps;
- the gravel path round the lake is tagged ``wheelchair=no``.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Point

from .area import CORE_INDEX, CORES, Area
from .common import stream, utm_xy
from .graph import Network

__all__ = ["HILL_LANES", "STEP_SHARE", "mark_steps"]

#: The hill of the old town (招宝山): centre (lon, lat) and radius (m) of its stepped lanes.
HILL_LANES = ((121.7185, 29.9585), 450.0)
#: Share of the old town's lanes on the hill, and of the park paths, that are steps.
STEP_SHARE = {"hill": 0.35, "park": 0.5}


def mark_steps(net: Network, area: Area) -> tuple[Network, dict[str, int]]:
    """The network with its steps and ``wheelchair=no`` ways marked (see module doc).

    Returns
    -------
    Network
        ``attrs`` with ``highway = "steps"`` where there are steps and a ``wheelchair``
        column (``"no"`` or empty).
    counts : dict
        Edges marked per reason: ``bridges``, ``hill``, ``park``, ``lake``.
    """
    rng = stream(9)
    attrs = net.attrs.copy()
    highway = attrs["highway"].to_numpy(dtype=object).copy()
    bridge = attrs["bridge"].to_numpy(dtype=object)
    mid = shapely.line_interpolate_point(net.geoms, 0.5, normalized=True)
    main = net.main
    # local bridges: residential streets carried over the canal (arterials keep theirs)
    arch = (bridge == "yes") & (highway == "residential") & main
    centre, radius = HILL_LANES
    on_hill = shapely.within(mid, Point(utm_xy(*centre)).buffer(radius))
    hill = on_hill & (highway == "residential") & main & (bridge != "yes")
    hill &= rng.random(len(highway)) < STEP_SHARE["hill"]
    cores = shapely.union_all([Point(utm_xy(c.lon, c.lat)).buffer(c.radius_m) for c in CORES[:3]])
    luotuo = CORES[CORE_INDEX["LT"]]
    promenade = Point(utm_xy(luotuo.lon, luotuo.lat)).buffer(2000.0)
    near_lake = shapely.dwithin(mid, area.lake, 60.0)
    park = (
        (highway == "footway")
        & shapely.within(mid, cores)
        & ~near_lake
        & ~shapely.dwithin(mid, area.canal, 80.0)
        & shapely.within(mid, promenade.union(cores))
    )
    park &= rng.random(len(highway)) < STEP_SHARE["park"]
    lake = (highway == "footway") & near_lake
    highway[arch | hill | park] = "steps"
    attrs["highway"] = highway
    attrs["wheelchair"] = np.where(lake, "no", "")
    counts = {
        "bridges": int(arch.sum()),
        "hill": int(hill.sum()),
        "park": int(park.sum()),
        "lake": int(lake.sum()),
    }
    return Network(net.xy, net.u, net.v, net.geoms, attrs), counts
