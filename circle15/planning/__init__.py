"""Planning: what-if edits, site selection and scenarios, around a run's engine session.

- :class:`WhatIfSession` — edits on top of a baseline with undo, redo and a scenario file;
- :func:`edit_facilities` — one what-if step (what ``result.add_facilities`` calls);
- :func:`select_sites` — new sites that bring the most residents within the target time;
- :func:`load_scenario`, :func:`apply_scenario`, :func:`run_scenario` — scenario files.
"""

from .edits import EngineSession, compare, edit_facilities
from .scenario import Scenario, apply_scenario, load_scenario, run_scenario
from .session import Edit, WhatIfSession
from .site_input import STUDY_CRS, WGS84, SiteInput, site_frame
from .sites import SiteSelection, gap_candidates, select_sites

__all__ = [
    "STUDY_CRS",
    "WGS84",
    "Edit",
    "EngineSession",
    "Scenario",
    "SiteInput",
    "SiteSelection",
    "WhatIfSession",
    "apply_scenario",
    "compare",
    "edit_facilities",
    "gap_candidates",
    "load_scenario",
    "run_scenario",
    "select_sites",
    "site_frame",
]
