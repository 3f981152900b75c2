"""Pages generated when the site is built (mkdocs-gen-files), so that they cannot drift.

- ``reference/study-file.md``, ``reference/scenario-file.md``, ``reference/batch-file.md``:
  every key of the study, scenario and batch files, with its type, limits and default from
  the pydantic models' JSON schema and its description from the field's docstring. A key
  without a description is a build warning (``mkdocs build --strict`` fails on it).
- ``benchmarks.md``, ``demo-data.md``, ``changelog.md``: ``benchmarks/README.md``,
  ``data/README.md`` and ``CHANGELOG.md`` as pages of the site.
- ``circle.md``: a placeholder while ``docs/circle.md`` (health, culture, step-free routes
  and ``circle15 diff``) has not landed.

Run by mkdocs; ``tests/docs/test_docs.py`` imports :func:`model_reference` and
:func:`undocumented_keys` from here.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import logging
import re
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("mkdocs.plugins.circle15")


# ------------------------------------------------------------------ field descriptions


@functools.cache
def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """The docstring written under each field of ``model`` and of the models it extends."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        body = tree.body[0].body  # the class
        for stmt, after in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    return docs


def description(model: type[BaseModel], name: str) -> str:
    """A field's ``Field(description=...)``, else its docstring; "" when it has neither."""
    info = model.model_fields[name]
    return info.description or field_docs(model).get(name, "")


def undocumented_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key of ``model`` and of the sections it holds that has no description."""
    missing = []
    for name in model.model_fields:
        if not description(model, name):
            missing.append(f"{prefix}{name}")
        nested = _section_model(model.model_fields[name].annotation)
        if nested is not None:
            missing += undocumented_keys(nested[1], f"{prefix}{name}.")
    return missing


# ------------------------------------------------------------------ types and limits


def _section_model(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """``("table", M)``, ``("tables", M)`` (a table of M by key) or ``("list", M)``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table", annotation
    if origin is dict and isinstance(args[1], type) and issubclass(args[1], BaseModel):
        return "tables", args[1]
    if origin is list and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return "list", args[0]
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _section_model(inner[0])
    return None


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def _type(schema: dict[str, Any]) -> str:
    """A field's type in words, from its JSON schema."""
    if "anyOf" in schema:
        kinds = [_type(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    if "enum" in schema:
        return "one of " + ", ".join(
            f"`{json.dumps(v, ensure_ascii=False)}`" for v in schema["enum"]
        )
    if "const" in schema:
        return f"`{json.dumps(schema['const'], ensure_ascii=False)}`"
    if "$ref" in schema:
        return "table"
    kind = schema.get("type")
    if kind == "string":
        text = "path" if schema.get("format") == "path" else "text"
    elif kind == "number":
        text = "number"
    elif kind == "integer":
        text = "whole number"
    elif kind == "boolean":
        text = "`true` or `false`"
    elif kind == "array" and "prefixItems" in schema:
        text = "[" + ", ".join(_type(s) for s in schema["prefixItems"]) + "]"
    elif kind == "array":
        text = "list of " + (_type(schema["items"]) if schema.get("items") else "values")
    elif kind == "object":
        values = schema.get("additionalProperties")
        text = (
            f"table of `name = {_type(values)}`" if isinstance(values, dict) and values else "table"
        )
    else:
        text = "any value"
    limits = _limits(schema)
    return f"{text} ({limits})" if limits else text


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            parts.append(f"{sign} {_number(schema[key])}")
    if "pattern" in schema:
        parts.append(f"matching `{schema['pattern']}`")
    if "minLength" in schema:
        parts.append(
            "not empty"
            if schema["minLength"] == 1
            else f"at least {schema['minLength']} characters"
        )
    if "maxItems" in schema and schema.get("minItems") != schema["maxItems"]:
        parts.append(f"at most {schema['maxItems']} values")
    return ", ".join(parts)


def _default(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    if info.is_required():
        return "**required**"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        return "(its defaults)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float | int):
        return f"`{_number(value)}`" if float(value).is_integer() else f"`{value:g}`"
    if isinstance(value, str):
        return f"`{json.dumps(value, ensure_ascii=False)}`"
    if isinstance(value, list | tuple):
        return (
            "`["
            + ", ".join(
                _number(v) if isinstance(v, float | int) else json.dumps(v, ensure_ascii=False)
                for v in value
            )
            + "]`"
        )
    if isinstance(value, dict) and not value:
        return "(none)"
    return f"`{value}`"


# ------------------------------------------------------------------ pages


def _markdown(docstring: str) -> str:
    """A reStructuredText-flavoured docstring as Markdown (roles and double backticks)."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", docstring)
    return text.replace("``", "`")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _section_doc(model: type[BaseModel]) -> str:
    """The model's docstring without the ``[name]``: label its heading already shows."""
    doc = _markdown(inspect.cleandoc(model.__doc__ or ""))
    doc = re.sub(r"^`\[+[^`]*\]+`:\s*", "", doc)
    return doc[:1].upper() + doc[1:]


def _table(
    model: type[BaseModel], schema: dict[str, Any], where: str, links: dict[str, str]
) -> list[str]:
    rows = ["| Key | Type and limits | Default | Description |", "|---|---|---|---|"]
    properties = schema.get("properties", {})
    for name in model.model_fields:
        text = description(model, name)
        if not text:
            log.warning(
                "%s: key %r has no description: write a docstring under the field", where, name
            )
        nested = _section_model(model.model_fields[name].annotation)
        if nested is not None:
            kind = {"table": "section", "tables": "sections by key", "list": "list of tables"}[
                nested[0]
            ]
        else:
            kind = _type(properties.get(name, {}))
        if name in links:
            kind = f"[{kind}](#{links[name]})"
        if model.model_fields[name].is_required():
            text = text.removeprefix("Required.").strip()  # the default column says so
        rows.append(
            f"| `{name}` | {_cell(kind)} | {_default(model, name)} | {_cell(_markdown(text))} |"
        )
    return rows


def model_reference(
    model: type[BaseModel], title: str, intro: str, shared: dict[str, tuple[str, str]] | None = None
) -> str:
    """The Markdown reference of a file whose whole document is ``model``.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The model of the whole file (``StudyConfig``, ``Scenario``, ``BatchFile``).
    title : str
        The page title.
    intro : str
        Markdown put under the title.
    shared : dict, optional
        Sections that are free-form tables here and checked as another file's: field name
        -> (the section as written, Markdown naming where their keys are documented).

    Returns
    -------
    str
        The page.
    """
    shared = shared or {}
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    sections: list[tuple[str, str, type[BaseModel]]] = []  # heading, anchor, model
    links: dict[str, str] = {}
    for name, info in model.model_fields.items():
        nested = _section_model(info.annotation)
        if nested is None:
            continue
        kind, sub = nested
        heading = {"table": f"[{name}]", "tables": f"[{name}.<key>]", "list": f"[[{name}]]"}[kind]
        sections.append((heading, name, sub))
        links[name] = name
    links.update({name: name for name in shared})
    lines = [f"# {title}", "", intro.strip(), "", "## The sections", ""]
    lines += _table(model, schema, title, links)
    for name, (heading, target) in shared.items():
        lines += [
            "",
            f"## `{heading}` {{#{name}}}",
            "",
            f"The keys of {target}; every region of the batch shares them.",
        ]
    for heading, anchor, sub in sections:
        lines += ["", f"## `{heading}` {{#{anchor}}}", "", _section_doc(sub), ""]
        lines += _table(
            sub, defs.get(sub.__name__, sub.model_json_schema()), f"{title} {heading}", {}
        )
    return "\n".join(lines) + "\n"


STUDY_INTRO = """
Every key of a study file, generated from the schema circle15 validates it with
(`circle15.config.StudyConfig`), so this page always matches the code. For a whole
example, the demo's `data/zhenhai.toml`, see [A study file](../study-file.md).

- Paths are relative to the study file.
- A key that is not listed here is refused (a typo stops the run with exit code 2, naming
  the key), and so are wrong types, numbers beyond the limits, `nan`, `inf` and
  overflowing numbers such as `1e309`.
- "—" as a default means the key is unset: what happens then is in its description.
"""

SCENARIO_INTRO = """
Every key of a scenario file (`circle15 run --scenario FILE`, the studio's saved plans),
generated from the schema circle15 validates it with (`circle15.planning.scenario.Scenario`).
An example and what the command writes:
[New sites](../new-sites.md#scenarios-circle15-run-scenario).

- A scenario lists at least one `[[add]]`, `[[remove]]` or `[[move]]` entry.
- A site is given as `lon` and `lat`, or as `x` and `y`, never both.
- Unknown keys, wrong types, `nan`, `inf` and numbers beyond the limits are refused, naming
  the entry (`add[3].lat`).
"""

BATCH_INTRO = """
Every key of a batch file (`circle15 batch FILE`), generated from the schema circle15
validates it with (`circle15.batch.config.BatchFile`). An example and what the command
writes: [Many districts at once](../batch.md).

- A batch file has `[batch]` and the regions (`[regions]`, `[[region]]`) instead of a study
  file's `[study]` and `[boundary]`; the other sections are a study file's, shared by every
  region and checked as a study file's are, before any region runs.
- Paths are relative to the batch file; inputs may also be `file://` or any fsspec URL
  (`s3://`, `zip://…::…`).
"""


def standards_reference() -> str:
    """Every category of ``circle15/standards.toml`` with its figures and their sources."""
    from circle15.standards import STANDARDS_FILE, load_standards

    path = ROOT / "circle15" / STANDARDS_FILE
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line[2:])
    standards = load_standards()
    lines = [
        "# Standards reference",
        "",
        "Every category circle15 knows, with each figure and its source, read from "
        "`circle15/standards.toml` when this site was built. *Unverified* marks a "
        "figure that could not be checked against the official text. A study changes "
        "any of them under [`[categories.<key>]`](study-file.md#categories); the "
        "narrative is in [Categories and standards](../standards.md).",
        "",
        "The file's header (the sources' abbreviations):",
        "",
        "```text",
        *header,
        "```",
        "",
        f"Snap limit for every category: {standards.max_snap_m:g} m "
        f"({_cell(standards.sources.get('max_snap_m', ''))}).",
        "",
    ]
    for c in standards.categories.values():

        def flag(*fields: str, category=c) -> str:
            return " (*unverified*)" if set(fields) & set(category.unverified) else ""

        life = (
            ", ".join(
                p
                for p in (
                    f"{c.life_circle_min:g} min" if c.life_circle_min is not None else "",
                    f"{c.life_circle_radius_m:,g} m" if c.life_circle_radius_m is not None else "",
                )
                if p
            )
            or "—"
        )
        rows = [
            ("cohort", c.cohort_label, c.sources.get("cohort", "")),
            (
                "tiers",
                ", ".join(f"{t:g}" for t in c.tiers_min) + " min",
                c.sources.get("tiers_min", ""),
            ),
            ("target", f"{c.target_min:g} min", c.sources.get("target_min", "")),
            (
                "walking speed",
                f"{c.speed_kmh:g} km/h{flag('speed_kmh')}",
                c.sources.get("speed_kmh", ""),
            ),
            (
                "GB 50180-2018 life circle",
                life + flag("life_circle_min", "life_circle_radius_m"),
                c.sources.get("life_circle", ""),
            ),
            ("capacity counts", c.capacity_unit or "—", ""),
            ("per-capita norm", (c.norm_label or "none") + flag("norm"), c.sources.get("norm", "")),
        ]
        lines += [
            f"## `{c.key}`: {c.name_zh} {c.name_en} {{#{c.key}}}",
            "",
            "| figure | value | source |",
            "|---|---|---|",
        ]
        lines += [f"| {a} | {_cell(b)} | {_cell(x)} |" for a, b, x in rows]
        lines.append("")
    return "\n".join(lines)


def circle_placeholder() -> str:
    """The page for health and culture, step-free routes and ``circle15 diff``, until it lands."""
    return textwrap.dedent("""\
        # The whole circle: health, culture, step-free routes and progress

        This page is written with the health and culture categories, the step-free walking
        profile and `circle15 diff` (issue 17). Until they are part of this version, see
        [Categories and standards](standards.md) for the categories circle15 has now.
        """)


def mirrored(path: Path, note: str, links: dict[str, str] | None = None) -> str:
    """A repository file as a page: its title, a note saying where it lives, its text."""
    text = path.read_text(encoding="utf-8")
    for old, new in (links or {}).items():
        text = text.replace(old, new)
    title, _, rest = text.partition("\n")
    return f"{title}\n\n!!! note\n    {note}\n{rest}"


def main() -> None:
    """Write the generated pages into the site being built."""
    import mkdocs_gen_files

    from circle15.batch.config import BatchFile
    from circle15.config import StudyConfig
    from circle15.planning.scenario import Scenario

    def study_keys(name: str, heading: str) -> tuple[str, str]:
        return heading, f"the study file's [`{heading}`](study-file.md#{name})"

    pages = {
        "reference/study-file.md": model_reference(
            StudyConfig, "Study file reference", STUDY_INTRO
        ),
        "reference/scenario-file.md": model_reference(
            Scenario, "Scenario file reference", SCENARIO_INTRO
        ),
        "reference/batch-file.md": model_reference(
            BatchFile,
            "Batch file reference",
            BATCH_INTRO,
            shared={
                name: study_keys(name, heading)
                for name, heading in (
                    ("network", "[network]"),
                    ("population", "[population]"),
                    ("facilities", "[facilities.<key>]"),
                    ("categories", "[categories.<key>]"),
                    ("analysis", "[analysis]"),
                    ("supply", "[supply]"),
                    ("index", "[index]"),
                    ("outputs", "[outputs]"),
                )
            },
        ),
        "reference/standards.md": standards_reference(),
        "benchmarks.md": mirrored(
            ROOT / "benchmarks" / "README.md",
            "This page is `benchmarks/README.md` of the repository, copied when the site "
            "is built. A summary: [Performance and benchmarks](performance.md).",
            {"](../docs/": "]("},
        ),
        "demo-data.md": mirrored(
            ROOT / "data" / "README.md",
            "This page is `data/README.md`, written with the demo data by "
            "`circle15.demo.build` and copied when the site is built. Paths are relative "
            "to `data/`.",
        ),
        "changelog.md": (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"),
    }
    if not (ROOT / "docs" / "circle.md").exists():
        pages["circle.md"] = circle_placeholder()
    for name, text in pages.items():
        with mkdocs_gen_files.open(name, "w") as fh:
            fh.write(text)


if __name__ in ("__main__", "<run_path>"):
    main()
