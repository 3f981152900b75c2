"""The JSON bodies the studio's API accepts (validated by pydantic before any work).

Every number must be finite (JSON parsers accept ``NaN`` and ``Infinity``; these models
do not), lists and strings are bounded, and unknown fields are refused, so a typo gets a
422 that names it instead of being ignored.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .studio import MAX_SUGGEST

__all__ = [
    "AddSite",
    "EditRequest",
    "ExportRequest",
    "LoadScenarioRequest",
    "MoveSite",
    "SaveScenarioRequest",
    "SitesRequest",
    "StepRequest",
]

#: Most sites one request may add, remove or move.
MAX_SITES = 200

Finite = Annotated[float, Field(allow_inf_nan=False)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
#: A coordinate system the studio accepts: an EPSG code or "study" (nothing PROJ would
#: read from a file).
Crs = Annotated[str, StringConstraints(pattern=r"^(EPSG:[0-9]{4,6}|study)$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddSite(_Body):
    """A new facility: position, optional capacity and name."""

    lon: Finite
    lat: Finite
    capacity: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None


class MoveSite(_Body):
    """A facility that moves to a new position."""

    id: Id
    lon: Finite
    lat: Finite


class EditRequest(_Body):
    """``POST /api/whatif`` and ``POST /api/edit``: one category's additions, closures and
    moves; ``show`` (edit only) names the category whose layer to answer with."""

    category: Key
    add: Annotated[list[AddSite], Field(max_length=MAX_SITES)] = []
    remove: Annotated[list[Id], Field(max_length=MAX_SITES)] = []
    move: Annotated[list[MoveSite], Field(max_length=MAX_SITES)] = []
    crs: Crs | None = None
    show: Key | None = None


class StepRequest(_Body):
    """``POST /api/undo``, ``/api/redo``, ``/api/reset``: the category shown on the page."""

    category: Key


class SitesRequest(_Body):
    """``POST /api/sites``: how many new sites to suggest for a category."""

    category: Key
    p: Annotated[int, Field(ge=1, le=MAX_SUGGEST)] = 3


class SaveScenarioRequest(_Body):
    """``POST /api/scenario/save``: the scenario's file name (without ``.toml``) and title."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    title: Annotated[str, StringConstraints(max_length=300)] = ""


class LoadScenarioRequest(_Body):
    """``POST /api/scenario/load``: a scenario file's text (read by the page) and its name."""

    text: Annotated[str, StringConstraints(max_length=500_000)]
    filename: Annotated[str, StringConstraints(max_length=200)] = "scenario.toml"


class ExportRequest(_Body):
    """``POST /api/export``: the folder, under the output folder, to write the outputs to."""

    folder: Annotated[str, StringConstraints(min_length=1, max_length=64)]
