"""Jinja2 templates for every HTML output, autoescaped, read from the package.

Each output package keeps its templates in a ``templates/`` folder beside its modules
(``circle15/outputs/webmap/templates``, ``circle15/outputs/report/templates`` …) and its
scripts and stylesheets as package files read with :mod:`importlib.resources`. Text from
input files and study files reaches a page only through these templates, where
autoescaping makes it text, or through :func:`script_json` inside a ``<script>``.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

__all__ = [
    "MISSING",
    "environment",
    "package_text",
    "render",
    "render_text",
    "script_json",
    "text_environment",
]

#: How a missing number is shown in every table of every page.
MISSING = "—"


def script_json(value: Any) -> str:
    """JSON for embedding in a ``<script>``: UTF-8 kept, ``<``, ``>`` and ``&`` escaped.

    Escaping those three keeps data from closing the script element or opening a comment;
    U+2028/U+2029 are escaped because older JavaScript engines treat them as line ends.
    NaN and infinity are refused (``allow_nan=False``): callers write missing numbers as
    ``None``, so the page receives strict JSON.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _number(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return f"{value:,.{digits}f}"


def _percent(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return f"{100 * value:.{digits}f}%"


@cache
def environment(package: str) -> Environment:
    """The template environment of an output package (e.g. ``"circle15.outputs.report"``).

    Autoescaping is on for every template; undefined names are errors, not blanks; filters
    ``number``, ``percent`` and ``script_json`` format values the same way on every page.
    """
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["number"] = _number
    env.filters["percent"] = _percent
    env.filters["script_json"] = lambda value: Markup(script_json(value))
    env.globals["MISSING"] = MISSING
    return env


@cache
def text_environment(package: str) -> Environment:
    """The environment of a package's templates that are not HTML (Markdown, TOML).

    No autoescaping: these files are written from circle15's own figures and names (a
    data folder's README), never shown as a page; undefined names are still errors.
    """
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_text(package: str, template: str, **context: Any) -> str:
    """Render a plain-text ``template`` (Markdown, TOML) of ``package``'s templates."""
    return text_environment(package).get_template(template).render(**context)


def render(package: str, template: str, **context: Any) -> str:
    """Render ``template`` of ``package``'s ``templates/`` folder with ``context``."""
    return environment(package).get_template(template).render(**context)


def package_text(package: str, name: str) -> str:
    """A script or stylesheet shipped as a package file (``importlib.resources``)."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")
