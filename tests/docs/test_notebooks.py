"""Every notebook under notebooks/ runs top to bottom, with the command the README gives."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
JUPYTER = Path(sys.executable).parent / "jupyter"


def readme_command() -> str:
    """The README's one command that installs the extra and executes the notebooks."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(
        r"^(\.venv/bin/pip install -q -e \"\.\[notebooks\]\" && .*nbconvert.*)$", readme, re.M
    )
    assert len(found) == 1, "the README gives one command that runs the notebooks"
    return found[0]


def test_the_docs_give_the_readme_command():
    page = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    assert page.count(readme_command()) == 1


def test_the_readme_command_uses_the_notebooks_extra():
    command = readme_command()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert any(d.startswith("nbconvert") for d in extras["notebooks"])
    assert any(d.startswith("ipykernel") for d in extras["notebooks"])
    run = command.split(" && ", 1)[1]
    assert "--execute" in run and "notebooks/*.ipynb" in run and "--output-dir" in run


@pytest.mark.slow
def test_notebooks_run_as_the_readme_says(tmp_path):
    if not JUPYTER.exists():
        pytest.skip("jupyter is not installed in this environment (pip install -e '.[test]')")
    # The README's command without the install, writing into a temporary folder.
    run = shlex.split(readme_command().split(" && ", 1)[1])
    run[0] = str(JUPYTER)
    run[run.index("--output-dir") + 1] = str(tmp_path)
    done = subprocess.run(
        " ".join(shlex.quote(a) for a in run),
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for path in NOTEBOOKS:
        notebook = nbformat.read(tmp_path / path.name, as_version=4)
        outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.get("output_type") == "error"], path.name
        assert all(c.execution_count for c in notebook.cells if c.cell_type == "code")
        assert any("leaflet" in str(o.get("data", {})).lower() for o in outputs)  # the map
    # The notebooks in the repository are left as they were (no outputs written into them).
    for path in NOTEBOOKS:
        kept = nbformat.read(path, as_version=4)
        assert not any(c.outputs for c in kept.cells if c.cell_type == "code")
