"""The whole circle's standards, tag mappings, step flags and index categories, by hand."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

from circle15 import Study
from circle15.config import load_config
from circle15.errors import ConfigError
from circle15.sources.centrelines import read_centrelines
from circle15.sources.network import step_ways
from circle15.sources.osm_facilities import MAPPING, OsmFeatures, classify, tidy_features
from circle15.standards import load_standards

from ..factories.studies import ORIGIN, write_small_study

X0, Y0 = ORIGIN


def test_health_day_care_and_culture_standards_as_written():
    cats = load_standards().categories
    health, care, culture = (cats["community_health"], cats["elderly_day_care"], cats["culture"])
    assert (health.name_zh, health.age_min, health.age_max) == ("社区卫生服务", 0, 200)
    assert (care.name_zh, care.age_min, care.cohort_label) == ("居家养老/日间照料", 60, "ages 60+")
    assert culture.cohort_label == "all ages"
    for cat in (health, care, culture):
        assert cat.tiers_min == (5.0, 10.0, 15.0) and cat.target_min == 15.0
        assert cat.norm_per == 1000 and cat.norm_base == "residents"
        assert "GB50180" in cat.sources["life_circle"] and "norm" in cat.unverified
        assert "NB15" in cat.sources["target_min"]
    assert (health.norm, health.speed_kmh, health.life_circle_min) == (20, 4.0, 15)
    assert (care.norm, care.speed_kmh, care.life_circle_radius_m) == (30, 3.2, 300)
    assert (culture.norm, culture.life_circle_radius_m) == (30, 1000)
    assert "卫生院" in health.sources["kinds"] and "文化礼堂" in culture.sources["kinds"]
    assert "嵌入式" in care.sources["kinds"]


def test_step_free_is_on_for_strollers_and_older_walkers_only():
    cats = load_standards().categories
    walked = {k for k, c in cats.items() if c.step_free}
    assert walked == {"childcare", "elderly_canteen", "elderly_day_care"}
    assert all("WZA2023" in cats[k].sources["step_free"] for k in walked)
    assert cats["childcare"].profile == "step_free" and cats["culture"].profile == "ordinary"


def _features(rows: list[dict]) -> OsmFeatures:
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "xy"} for r in rows],
        geometry=[Point(r["xy"]) for r in rows],
        crs=4326,
    )
    return tidy_features(frame, "test")


def test_new_tag_mappings_by_hand():
    rows = [
        {"osm_id": "node/1", "amenity": "clinic", "name": "蛟川街道社区卫生服务站"},
        {"osm_id": "node/2", "amenity": "hospital", "name": "九龙湖镇卫生院"},
        {"osm_id": "node/3", "amenity": "hospital", "name": "宁波市第二医院"},
        {"osm_id": "node/4", "amenity": "clinic", "name": "美好口腔诊所"},
        {"osm_id": "node/5", "healthcare": "clinic", "name": "Clinic"},
        {"osm_id": "node/6", "amenity": "doctors", "name": "仁心民营医院"},
        {
            "osm_id": "node/7",
            "amenity": "social_facility",
            "social_facility": "day_care",
            "social_facility:for": "senior",
        },
        {"osm_id": "node/8", "amenity": "community_centre", "name": "庄市街道居家养老服务中心"},
        {
            "osm_id": "node/9",
            "amenity": "social_facility",
            "social_facility": "nursing_home",
            "social_facility:for": "senior",
            "name": "镇海区福利院",
        },
        {
            "osm_id": "node/10",
            "amenity": "social_facility",
            "social_facility": "nursing_home",
            "social_facility:for": "senior",
            "name": "骆驼嵌入式小微养老院",
        },
        {"osm_id": "node/11", "amenity": "library", "name": "镇海区图书馆"},
        {"osm_id": "node/12", "amenity": "library", "name": "宁波大学图书馆"},
        {"osm_id": "node/13", "amenity": "community_centre", "name": "澥浦镇农村文化礼堂"},
        {"osm_id": "node/14", "amenity": "community_centre", "name": "招宝山社区服务中心"},
        {"osm_id": "node/15", "amenity": "arts_centre"},
        {"osm_id": "node/16", "amenity": "restaurant", "name": "文化小吃店"},
    ]
    for i, r in enumerate(rows):
        r["xy"] = (121.60 + 0.01 * i, 29.95)
    layers = classify(
        _features(rows),
        ["community_health", "elderly_day_care", "culture", "elderly_canteen"],
        "EPSG:32651",
    )
    ids = {
        k: sorted(int(i.split("/")[1]) for i in v.facilities["facility_id"])
        for k, v in layers.items()
    }
    # 3: a hospital; 4: a dentist; 6: a private hospital tagged doctors
    assert ids["community_health"] == [1, 2, 5]
    # 9: a large home without an embedded/community name
    assert ids["elderly_day_care"] == [7, 8, 10]
    # 12: a university's library; 14: a community service centre, not culture; 16: food
    assert ids["culture"] == [11, 13, 15]
    # 居家养老服务中心 keeps counting as a place older residents eat (as before)
    assert 8 in ids["elderly_canteen"] and 7 in ids["elderly_canteen"]
    assert {"community_health", "elderly_day_care", "culture"} <= set(MAPPING)


def test_steps_and_wheelchair_tags_mark_the_ways_a_step_free_walk_avoids():
    edges = pd.DataFrame(
        {
            "highway": ["footway", "steps", "footway;steps", "steps", "steps", "residential", None],
            "wheelchair": [None, None, None, "yes", None, "no", None],
            "ramp:wheelchair": [None, None, None, None, "yes", None, None],
        }
    )
    assert step_ways(edges).tolist() == [False, True, True, False, False, True, False]
    assert step_ways(pd.DataFrame({"name": ["a"]})) is None  # nothing says where steps are
    marked = pd.DataFrame({"台阶": ["是", "否", "1", None]})
    assert step_ways(marked, "台阶").tolist() == [True, False, True, False]


def test_centrelines_mark_steps_by_a_column_or_their_class(tmp_path):
    lines = gpd.GeoDataFrame(
        {"道路等级": ["支路", "台阶", "支路", "支路"], "有台阶": ["否", "否", "是", "否"]},
        geometry=[
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (200, 0)]),
            LineString([(200, 0), (300, 0)]),
            LineString([(300, 0), (400, 0)]),
        ],
        crs="EPSG:32651",
    )
    lines.geometry = lines.geometry.translate(X0, Y0)
    path = tmp_path / "roads.gpkg"
    lines.to_file(path)
    by_column = read_centrelines(path, lines.crs, steps_field="有台阶")
    mid = shapely.line_interpolate_point(by_column.edges.geometry.to_numpy(), 0.5, normalized=True)
    x = shapely.get_coordinates(mid)[:, 0] - X0
    steps = dict(zip(np.round(x), by_column.edges["steps"], strict=True))
    # the 台阶 class and the 有台阶 = 是 column both count
    assert steps == {50.0: False, 150.0: True, 250.0: True, 350.0: False}
    from circle15.errors import InputError

    with pytest.raises(InputError, match="steps_field: no column '楼梯'"):
        read_centrelines(path, lines.crs, steps_field="楼梯")


def test_a_study_turns_step_free_off_and_chooses_its_index_categories(tmp_path):
    toml = write_small_study(
        tmp_path / "s",
        facilities={
            "kindergarten": [(X0 + 200, Y0 + 230)],
            "elderly_canteen": [(X0 + 800, Y0 + 810), (X0 + 100, Y0 + 900)],
        },
    )
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text + "\n[categories.elderly_canteen]\nstep_free = false\n\n"
        '[index]\ncategories = ["kindergarten"]\n',
        encoding="utf-8",
    )
    loaded = load_config(toml)
    assert not loaded.categories["elderly_canteen"].step_free
    assert loaded.index.categories == ("kindergarten",)
    result = Study.from_config(toml).run()
    assert result.barriers is None and "t_with_steps_elderly_canteen" not in result.cells
    # the index counts the kindergartens only: each district's dimensions are theirs
    by_cat = result.districts.set_index(["district", "category"])
    for district in ("西区", "东区"):
        row = result.index.set_index("district").loc[district]
        assert row["accessibility"] == pytest.approx(
            by_cat.loc[(district, "kindergarten"), "score_accessibility"], abs=1e-6
        )
    # the canteens keep their own scores
    assert by_cat.loc[("西区", "elderly_canteen"), "score_accessibility"] > 0
    toml.write_text(text + '\n[index]\ncategories = ["library"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"index\.categories: 'library' is not a category"):
        load_config(toml)


def test_targets_are_checked_against_the_study(tmp_path):
    toml = write_small_study(tmp_path / "t", facilities={"kindergarten": [(X0 + 200, Y0 + 230)]})
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text + "\n[targets]\nsports_venue.area_per_resident = 2.9\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"targets\.sports_venue: not a category"):
        load_config(toml)
    toml.write_text(
        text + "\n[targets.kindergarten]\ncapacity_per_1000 = 1\nplaces_per_1000 = 2\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"capacity_per_1000 and places_per_1000 are the same"):
        load_config(toml)
    toml.write_text(text + "\n[targets.kindergarten]\ncoverage = 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"targets\.kindergarten\.coverage"):
        load_config(toml)


def test_the_demo_says_where_its_steps_are():
    from circle15.demo.locate import repository_data_dir

    edges = gpd.read_file(
        Path(repository_data_dir()) / "network" / "zhenhai_walk_synthetic.gpkg", layer="edges"
    )
    assert (edges["highway"] == "steps").sum() >= 50
    assert (edges["wheelchair"] == "no").sum() >= 1
    assert set(edges["provenance"]) == {"synthetic"}
