"""Fuzzing the file readers: mutated CSV, XLSX, GeoJSON, GeoPackage and TOML bytes end in
the tool's own error (or are read), never in another exception.

Each reader runs inside ``circle15.sources.guard.reading`` exactly as ``read_inputs`` runs
it. The guard turns a library's file errors into an ``InputError`` naming the file; any
other exception would come out marked ``unexpected`` (a crash to fix in the reader), and
the tests fail on those too. ``derandomize`` keeps CI runs repeatable; set
``CIRCLE15_FUZZ_EXAMPLES`` to fuzz longer with fresh random examples.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS as ProjCRS

from circle15.config import load_config
from circle15.errors import Circle15Error
from circle15.sources.boundaries import read_districts, read_outline
from circle15.sources.facilities import read_facilities
from circle15.sources.guard import UnreadableInput, reading
from circle15.sources.population import read_population

from ..factories.studies import CRS, write_small_study

EXAMPLES = int(os.environ.get("CIRCLE15_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="CIRCLE15_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)
STUDY_CRS = ProjCRS.from_user_input(CRS)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict:
    """Valid files of each format, and the small study they belong to."""
    folder = tmp_path_factory.mktemp("seeds")
    toml = write_small_study(folder / "study")
    csv = (folder / "study" / "elderly_canteen.csv").read_bytes()
    table = pd.read_csv(folder / "study" / "elderly_canteen.csv")
    chinese = table.rename(
        columns={
            "facility_id": "编号",
            "name": "名称",
            "capacity": "餐位",
            "lon": "经度",
            "lat": "纬度",
        }
    )
    chinese["名称"] = ["老年食堂一", "助餐点二"]
    xlsx_path = folder / "seed.xlsx"
    chinese.to_excel(xlsx_path, index=False)
    geojson_path = folder / "seed.geojson"
    gpd.GeoDataFrame(
        table.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(table["lon"], table["lat"]),
        crs=4326,
    ).to_file(geojson_path)
    cells = gpd.read_file(folder / "study" / "population.gpkg", layer="cells").iloc[:12]
    gpkg_path = folder / "seed.gpkg"
    cells.to_file(gpkg_path, layer="cells")
    outline = read_outline(folder / "study" / "outline.geojson")
    districts = read_districts("small", outline, STUDY_CRS)
    return {
        "csv": csv,
        "csv_gbk": chinese.to_csv(index=False).encode("gbk"),
        "xlsx": xlsx_path.read_bytes(),
        "geojson": geojson_path.read_bytes(),
        "gpkg": gpkg_path.read_bytes(),
        "toml": toml.read_bytes(),
        "study": toml.parent,
        "districts": districts,
    }


#: One edit of a file's bytes: what, where (0-1 of the length), and bytes to put there.
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate", "overwrite", "repeat"]),
        st.floats(0, 1, allow_nan=False),
        st.binary(min_size=1, max_size=12),
    ),
    min_size=1,
    max_size=4,
)


def mutate(data: bytes, edits) -> bytes:
    """Apply byte edits: flips, insertions, deletions, truncation, overwrites, repeats."""
    out = bytearray(data)
    for op, where, chunk in edits:
        i = min(int(where * len(out)), max(len(out) - 1, 0))
        if op == "flip" and out:
            out[i] ^= chunk[0] or 0xFF
        elif op == "insert":
            out[i:i] = chunk
        elif op == "delete":
            del out[i : i + len(chunk) * 4]
        elif op == "truncate":
            del out[i:]
        elif op == "overwrite":
            out[i : i + len(chunk)] = chunk
        elif op == "repeat":
            out[i:i] = out[i : i + 64]
    return bytes(out)


def read_guarded(what: str, path: Path, reader) -> None:
    """Run ``reader`` as ``read_inputs`` does; only the tool's own errors may come out."""
    try:
        with reading(path, what):
            reader()
    except UnreadableInput as exc:
        assert not exc.unexpected, f"reader crashed: {exc.__cause__!r}"
    except Circle15Error:
        pass


def facilities_reader(path: Path):
    return lambda: read_facilities(path, "elderly_canteen", STUDY_CRS)


@FUZZ
@given(edits=EDITS, which=st.sampled_from(["csv", "csv_gbk"]))
def test_mutated_facility_csv(seeds, edits, which):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "facilities.csv"
        path.write_bytes(mutate(seeds[which], edits))
        read_guarded("facilities (elderly_canteen)", path, facilities_reader(path))


@FUZZ
@given(edits=EDITS)
def test_mutated_facility_xlsx(seeds, edits):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "facilities.xlsx"
        path.write_bytes(mutate(seeds["xlsx"], edits))
        read_guarded("facilities (elderly_canteen)", path, facilities_reader(path))


@FUZZ
@given(edits=EDITS)
# GDAL says so when a mutated point has one coordinate; the reader then reads or refuses it.
@pytest.mark.filterwarnings("ignore:OGRGeoJSON:RuntimeWarning")
def test_mutated_facility_geojson(seeds, edits):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "facilities.geojson"
        path.write_bytes(mutate(seeds["geojson"], edits))
        read_guarded("facilities (elderly_canteen)", path, facilities_reader(path))


@FUZZ
@given(edits=EDITS)
# GDAL says so when a mutated header is no longer a GeoPackage's; the reader then refuses it.
@pytest.mark.filterwarnings("ignore:GPKG. bad application_id:RuntimeWarning")
def test_mutated_population_gpkg(seeds, edits):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "population.gpkg"
        path.write_bytes(mutate(seeds["gpkg"], edits))
        read_guarded(
            "population",
            path,
            lambda: read_population(path, STUDY_CRS, seeds["districts"], layer="cells"),
        )


@FUZZ
@given(edits=EDITS)
def test_mutated_study_toml(seeds, edits):
    path = seeds["study"] / "fuzzed.toml"  # beside the study's files, which it names
    path.write_bytes(mutate(seeds["toml"], edits))
    read_guarded("study file", path, lambda: load_config(path))


@FUZZ
@given(
    values=st.lists(
        st.one_of(st.text(max_size=8), st.floats(), st.integers(), st.none()),
        min_size=4,
        max_size=4,
    )
)
def test_odd_cell_values_in_a_facility_table(seeds, values):
    """Not bytes but values: any text, NaN, inf or huge number in the table's fields."""
    table = pd.read_csv(pd.io.common.BytesIO(seeds["csv"]))
    for column, value in zip(["facility_id", "capacity", "lon", "lat"], values, strict=True):
        table[column] = table[column].astype(object)
        table.loc[0, column] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "facilities.csv"
        table.to_csv(path, index=False)
        read_guarded("facilities (elderly_canteen)", path, facilities_reader(path))


def test_mutation_changes_the_bytes():
    """The oracle for the fuzzers' input: each edit does what it says."""
    data = bytes(range(10))
    assert mutate(data, [("truncate", 0.5, b"x")]) == data[:5]
    assert mutate(data, [("insert", 0.0, b"ab")]) == b"ab" + data
    assert mutate(data, [("flip", 0.0, b"\x01")])[0] == 1
    assert np.frombuffer(mutate(data, [("delete", 0.1, b"x")]), np.uint8).tolist() == [
        0,
        5,
        6,
        7,
        8,
        9,
    ]
