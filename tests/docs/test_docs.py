"""The documentation: generated references cover every key, links lead somewhere.

The site itself is built with ``mkdocs build --strict`` (see docs/quickstart.md); these
tests check, without building it, what the build cannot: that every key of the study,
scenario and batch files has a description and reaches its reference page (the oracle is
each model's JSON schema, walked here independently of the page generator), and that the
README's and the pages' relative links point at files that exist.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from circle15.batch.config import BatchFile
from circle15.config import StudyConfig
from circle15.planning.scenario import Scenario
from circle15.standards import load_standards

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_pages", DOCS / "gen_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _generator()
MODELS = [StudyConfig, Scenario, BatchFile]


def _schema_keys(schema: dict) -> dict[str, set[str]]:
    """Every model's property names in a JSON schema: {model title: keys}."""
    found = {schema["title"]: set(schema.get("properties", {}))}
    for name, sub in schema.get("$defs", {}).items():
        found[name] = set(sub.get("properties", {}))
    return found


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_key_has_a_description(model):
    assert gen.undocumented_keys(model) == []


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_key_is_on_the_reference_page(model):
    page = gen.model_reference(model, "Reference", "intro")
    for title, keys in _schema_keys(model.model_json_schema()).items():
        for key in keys:
            assert f"| `{key}` |" in page, f"{title}.{key} is missing from the reference"


def test_the_reference_gives_types_limits_and_defaults():
    page = gen.model_reference(StudyConfig, "Reference", "intro")
    network = page.split("{#network}", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in network.splitlines() if line.startswith("| `buffer_m` |"))
    assert "number (≥ 0, ≤ 100,000)" in row and "`1,500`" in row
    index = page.split("{#index}", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in index.splitlines() if line.startswith("| `inequality_aversion` |"))
    assert "≥ 0, < 1" in row and "`0.5`" in row
    row = next(line for line in page.splitlines() if line.startswith("| `study` |"))
    assert "**required**" in row


def test_the_standards_reference_lists_every_category():
    page = gen.standards_reference()
    for key, category in load_standards().categories.items():
        assert f"## `{key}`: {category.name_zh} {category.name_en}" in page


def _nav_pages(nav) -> list[str]:
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = set(_nav_pages(config["nav"]))
    written = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    generated = {
        "reference/study-file.md",
        "reference/scenario-file.md",
        "reference/batch-file.md",
        "reference/standards.md",
        "benchmarks.md",
        "demo-data.md",
        "changelog.md",
        "circle.md",
    }
    assert written - listed == set()
    assert listed - written - generated == set()


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_relative_links_lead_to_files(page):
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code is not links
    generated = {
        "benchmarks.md",
        "demo-data.md",
        "changelog.md",
        "circle.md",
        "study-file.md",
        "scenario-file.md",
        "batch-file.md",
        "standards.md",
    }
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path = (page.parent / target).resolve()
        assert path.exists() or path.name in generated, f"{page.name}: {target}"


TEST_PATH = re.compile(r"\btests/[\w/]+\.py(?:::(\w+))?")


@pytest.mark.parametrize(
    "page",
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        *sorted(DOCS.rglob("*.md")),
        *sorted(DOCS.glob("*.py")),
        *sorted((ROOT / "benchmarks").glob("*.md")),
        *sorted((ROOT / "benchmarks").glob("*.py")),
        *sorted((ROOT / "data").glob("*.md")),
        *sorted((ROOT / "circle15").rglob("*.md")),
    ],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_cited_tests_exist(page):
    """A test cited by path (``tests/x/test_y.py::test_z``) is a file that defines it."""
    for match in TEST_PATH.finditer(page.read_text(encoding="utf-8")):
        path = ROOT / match.group(0).split("::")[0]
        assert path.is_file(), f"{page.name} cites {match.group(0)}: no such file"
        name = match.group(1)
        if name:
            assert re.search(rf"^def {name}\(", path.read_text(encoding="utf-8"), re.M), (
                f"{page.name} cites {match.group(0)}: no such test"
            )
