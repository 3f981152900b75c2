"""The public API's docstrings are valid numpydoc: what the API reference is generated from.

Every name in ``circle15.__all__`` and every public method and property its classes define
(or inherit from a circle15 class) is run through ``numpydoc.validate.validate``. The test
fails on these codes, the ones that make a docstring wrong rather than short:

- ``GL08`` the object has no docstring;
- ``SS01`` no summary, ``SS03`` the summary does not end with a period, ``SS06`` the summary
  is not one line (the API reference and IDE tooltips show the first line alone);
- ``PR01`` a parameter of the signature is not documented, ``PR02`` a documented parameter
  is not in the signature (a stale or misparsed section), ``PR03`` the parameters are
  documented in another order than the signature's, ``PR07`` a parameter has no
  description, ``PR10`` ``name: type`` without the space before the colon (numpydoc then
  reads the whole line as a name);
- ``RT01`` a function that returns something has no Returns section, ``RT03`` a return
  value has no description, ``YD01`` a generator has no Yields section;
- ``GL06`` an unknown section name (``Note`` instead of ``Notes`` is silently dropped by
  the renderers), ``GL07`` the sections are not in numpydoc's order.

Not enforced, on purpose: ``ES01``/``SA01``/``EX01`` (extended summary, See Also,
Examples: the house style asks for short docstrings; examples live in the docs pages),
``PR04``/``RT02`` (types in the docstring: the signatures are annotated and the reference
shows the annotations), ``PR08``/``PR09``/``SS02``/``SS05`` (capitalisation and mood of
descriptions: many start with a column or key name in backticks), ``GL01``/``GL02``
(where the quotes sit).

Data attributes are checked too (code ``AT01`` here): every field of a public dataclass
must be named in its class docstring's ``Attributes`` or ``Parameters`` section. For a
dataclass that check replaces ``PR01``: the constructor's arguments are its fields, which
a record documents as attributes.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect

import pytest
from numpydoc import validate as numpydoc_validate
from numpydoc.docscrape import NumpyDocString

import circle15

ENFORCED = frozenset(
    {
        "GL08",
        "SS01",
        "SS03",
        "SS06",
        "PR01",
        "PR02",
        "PR03",
        "PR07",
        "PR10",
        "RT01",
        "RT03",
        "YD01",
        "GL06",
        "GL07",
    }
)


def _is_member(value: object) -> bool:
    """A method, class or static method, or property: what numpydoc validates."""
    return inspect.isfunction(value) or isinstance(
        value, staticmethod | classmethod | property | functools.cached_property
    )


#: Beyond ``circle15.__all__``, what the API reference pages show (docs/api/*.md).
DOCUMENTED_ELSEWHERE = {
    "circle15.planning.session": ["make_edit"],
    "circle15.planning.sites": ["gap_candidates"],
    "circle15.outputs.webmap.build": ["build_map", "write_map"],
    "circle15.batch.run": ["BatchRun"],
    "circle15.errors": [
        "UnreadableInput",
        "RequestError",
        "FetchError",
        "OfflineAssetError",
        "warn",
    ],
}


def documented_objects() -> list[object]:
    """Every public name, and the other names the API reference shows."""
    objects = [getattr(circle15, name) for name in circle15.__all__ if not name.startswith("_")]
    return objects + [
        getattr(importlib.import_module(module), name)
        for module, names in DOCUMENTED_ELSEWHERE.items()
        for name in names
    ]


def public_objects() -> list[str]:
    """Import paths of every public name and of the public members of its classes."""
    paths: list[str] = []
    for obj in documented_objects():
        paths.append(f"{obj.__module__}.{obj.__qualname__}")
        if not inspect.isclass(obj):
            continue
        for attr in dir(obj):
            if attr.startswith("_"):
                continue
            owner = next(k for k in obj.__mro__ if attr in vars(k))
            if owner.__module__.startswith("circle15") and _is_member(vars(owner)[attr]):
                paths.append(f"{owner.__module__}.{owner.__qualname__}.{attr}")
    return sorted(set(paths))


PUBLIC = public_objects()


def test_the_public_api_is_covered():
    # The curated API: if this list shrinks to nothing the test below proves nothing.
    names = {p.rsplit(".", 1)[-1] for p in PUBLIC}
    assert {
        "Study",
        "CoverageResult",
        "WhatIfSession",
        "select_sites",
        "run_batch",
        "compare_with_reference",
        "read_reference",
        "write_outputs",
        "load_scenario",
        "apply_scenario",
        "run_scenario",
        "load_standards",
        "InputError",
    } <= names
    assert {"run", "from_config", "add_facilities", "undo", "write_scenario"} <= names
    assert len(PUBLIC) >= 60


@pytest.mark.parametrize("path", PUBLIC)
def test_numpydoc(path):
    enforced = ENFORCED
    obj = numpydoc_validate.Validator._load_obj(path)
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
        # A record's constructor arguments are its fields, documented under Attributes
        # (checked by test_dataclass_fields_are_documented), not Parameters.
        enforced = enforced - {"PR01"}
    errors = [
        f"{code} {message}"
        for code, message in numpydoc_validate.validate(path)["errors"]
        if code in enforced
    ]
    assert not errors, f"{path}:\n  " + "\n  ".join(errors)


def _documented_attributes(cls: type) -> set[str]:
    doc = NumpyDocString(inspect.getdoc(cls) or "")
    names: set[str] = set()
    for section in ("Attributes", "Parameters"):
        for item in doc[section]:
            names.update(n.strip() for n in item.name.split(","))
    return names


DATACLASSES = sorted(
    {obj for obj in documented_objects() if inspect.isclass(obj) and dataclasses.is_dataclass(obj)},
    key=lambda c: c.__qualname__,
)


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda c: c.__qualname__)
def test_dataclass_fields_are_documented(cls):
    fields = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    missing = sorted(fields - _documented_attributes(cls))
    assert not missing, f"AT01 {cls.__qualname__}: fields {missing} not in Attributes"


def test_the_checks_find_what_they_look_for():
    # The oracle: docstrings written wrong and right on purpose, below.
    found = {code for code, _ in numpydoc_validate.validate(f"{__name__}._bad_example")["errors"]}
    assert {"SS03", "SS06", "PR01", "RT01"} <= found
    clean = {code for code, _ in numpydoc_validate.validate(f"{__name__}._good_example")["errors"]}
    assert not clean & ENFORCED
    assert _bad_example(1, 2) == 3 and _good_example(2) == 4


def _bad_example(x, y):
    """Take two values
    and add them"""
    return x + y


def _good_example(x):
    """Double a value.

    Parameters
    ----------
    x : float
        The value.

    Returns
    -------
    float
        Twice ``x``.
    """
    return 2 * x
