"""``diff_map.html`` and ``diff.html`` in headless Chromium: no errors, every layer toggles,
names that are markup stay text (helpers and fixtures of ``tests/factories/browser.py``)."""

from __future__ import annotations

import pandas as pd
import pytest

from circle15.cli import main

from ..factories.browser import MAP_STATE_JS, visit
from ..factories.studies import ORIGIN, write_small_study

pytestmark = [pytest.mark.browser, pytest.mark.slow]

X0, Y0 = ORIGIN
ATTACK = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def diff_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("diffmap")
    a = write_small_study(
        root / "a",
        facilities={
            "kindergarten": [(X0 + 200, Y0 + 230)],
            "elderly_canteen": [(X0 + 800, Y0 + 810)],
        },
    )
    b = write_small_study(
        root / "b",
        facilities={
            "kindergarten": [(X0 + 200, Y0 + 230), (X0 + 610, Y0 + 700)],
            "elderly_canteen": [(X0 + 300, Y0 + 410)],
        },
    )
    table = pd.read_csv(root / "b" / "kindergarten.csv")
    table.loc[1, "name"] = ATTACK
    table.to_csv(root / "b" / "kindergarten.csv", index=False)
    assert main(["diff", str(a), str(b), "--out", str(root / "d"), "--quiet"]) == 0
    return root / "d"


def test_diff_map_renders_and_every_layer_toggles(browser, diff_folder):
    v = visit(browser, diff_folder / "diff_map.html")
    page = v.page
    page.wait_for_function(
        "() => !!window.L && Object.values(window).some(o => o instanceof L.Circle15.LayerControl)"
    )
    state = page.evaluate(MAP_STATE_JS)
    assert len(state["on"]) >= 5  # outlines + per category cells, facilities, coverage
    boxes = page.locator(
        ".leaflet-control-layers-overlays input.leaflet-control-layers-selector[type=checkbox]"
    )
    for i in range(boxes.count()):
        boxes.nth(i).click()
        boxes.nth(i).click()
    assert page.evaluate("() => window.__pwned") is None
    assert v.errors() == [] and v.outside_requests() == []
    assert page.locator(".c15-banner").count() == 0  # real (not synthetic) test data
    page.close()


def test_diff_page_keeps_names_as_text(browser, diff_folder):
    html = (diff_folder / "diff.html").read_text(encoding="utf-8")
    assert ATTACK not in html and "&lt;img src=x" in html
    v = visit(browser, diff_folder / "diff.html")
    assert v.page.evaluate("() => window.__pwned") is None
    assert ATTACK in v.page.locator("#part-facilities").inner_text()
    assert v.errors() == []
    v.page.close()
