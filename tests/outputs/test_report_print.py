"""report.html printed as a planner prints it: Chromium's PDF on A4, every table on the page.

Debian's Chromium through Playwright (``executable_path``; no browser download), offline:
every request that is not a local file is aborted. Two checks that do not trust each
other: the layout under print media at the printable width of an A4 page (portrait, and
landscape for the sections the stylesheet puts on landscape pages), where no table may
reach past the page's right edge; and the PDF itself (pypdf), where every page is A4 and
no text starts in the right margin, and no page ends with a heading. Run on the demo and on
a study with 40 sub-districts, long names and a category with six tiers.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from circle15.outputs.report import write_report

from ..factories.browser import FLAGS, chromium_binary
from ..factories.report_studies import many_districts

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (test extra)"
)
pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed (test extra)")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MM = 96 / 25.4  # CSS pixels per millimetre
#: A4 in PDF points, and the side margins of report.css (12 mm) in points and pixels.
A4_PT = (595.28, 841.89)
MARGIN_MM = 12
PORTRAIT_PX = (210 - 2 * MARGIN_MM) * MM
LANDSCAPE_PX = (297 - 2 * MARGIN_MM) * MM
MARGIN_PT = MARGIN_MM * 72 / 25.4

MEASURE = """(landscape) => {
  const out = [];
  for (const t of document.querySelectorAll('table')) {
    if (!!t.closest('.c15-landscape') !== landscape) continue;
    const box = t.getBoundingClientRect();
    if (box.width === 0) continue;
    let right = box.right;
    for (const c of t.querySelectorAll('th, td')) {
      right = Math.max(right, c.getBoundingClientRect().right);
    }
    out.push({right: right, scroll: t.scrollWidth, client: t.clientWidth,
              head: (t.querySelector('th') || {}).textContent || ''});
  }
  const maps = [...document.querySelectorAll('svg.c15-tiermap')].map(s => {
    const b = s.getBoundingClientRect();
    return {width: b.width, height: b.height, right: b.right,
            landscape: !!s.closest('.c15-landscape')};
  });
  return {page: document.documentElement.clientWidth, tables: out, maps: maps};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    exe = chromium_binary()
    if exe is None:
        pytest.skip("no chromium binary (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=FLAGS)
        yield b
        b.close()


def _text(page: pypdf.PageObject) -> str:
    """A page's text, CJK radicals folded (NFKC) and whitespace collapsed."""
    text = unicodedata.normalize("NFKC", page.extract_text() or "")
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    return " ".join(line for line in lines if line and not re.fullmatch(r"\d+ / \d+", line))


def _starts(page: pypdf.PageObject) -> list[tuple[float, str]]:
    """Where each piece of text starts on the page (x in points) and the text."""
    found: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            found.append((x, text))

    page.extract_text(visitor_text=visit)
    return found


def print_report(browser: sync_api.Browser, path: Path) -> dict:
    """Lay the report out for print at both widths, print it to PDF, and read the PDF."""
    page = browser.new_page(viewport={"width": int(PORTRAIT_PX), "height": 1000})
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("file:", "data:", "about:"))
            else route.abort()
        ),
    )
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.emulate_media(media="print")
        portrait = page.evaluate(MEASURE, False)
        headings = page.evaluate("""() => [...document.querySelectorAll('h2, h3, h4')]
            .map(h => h.textContent.replace(/\\s+/g, ' ').trim())""")
        categories = page.locator("section.c15-cat").count()
        wide = page.locator(".c15-landscape").count()
        page.set_viewport_size({"width": int(LANDSCAPE_PX), "height": 1000})
        landscape = page.evaluate(MEASURE, True)
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    finally:
        page.close()
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return {
        "portrait": portrait,
        "landscape": landscape,
        "headings": headings,
        "categories": categories,
        "wide": wide,
        "pdf": reader,
        "bytes": len(pdf),
    }


def check_printout(printed: dict) -> None:
    """Every table fits its page; A4 pages; no text in the right margin; headings kept."""
    for width, key in ((PORTRAIT_PX, "portrait"), (LANDSCAPE_PX, "landscape")):
        layout = printed[key]
        assert layout["page"] <= width + 1
        for table in layout["tables"]:
            assert table["right"] <= layout["page"] + 0.5, (key, table["head"], table)
            assert table["scroll"] <= table["client"] + 1, (key, table["head"])
    assert printed["portrait"]["tables"], "no table measured"
    # a printed map per category, within the page
    shown = [m for m in printed["portrait"]["maps"] if not m["landscape"]] + [
        m for m in printed["landscape"]["maps"] if m["landscape"]
    ]
    assert len(shown) == printed["categories"] > 0
    assert all(m["width"] > 200 and m["height"] > 150 for m in shown)
    reader = printed["pdf"]
    sizes = {
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages
    }
    a4 = {(round(A4_PT[0]), round(A4_PT[1])), (round(A4_PT[1]), round(A4_PT[0]))}
    assert sizes <= a4, sizes
    assert (len(sizes) == 2) == (printed["wide"] > 0)  # landscape pages only when needed
    headings = [unicodedata.normalize("NFKC", h) for h in printed["headings"]]
    for number, page in enumerate(reader.pages, start=1):
        right = float(page.mediabox.width) - MARGIN_PT
        beyond = [(round(x, 1), t) for x, t in _starts(page) if x > right + 1]
        assert not beyond, (number, beyond[:5])
        text = _text(page)
        ends = [h for h in headings if text.replace(" ", "").endswith(h.replace(" ", ""))]
        assert not ends, (number, ends)


@pytest.fixture(scope="module")
def demo_printed(browser: sync_api.Browser, demo_run) -> dict:
    out, _ = demo_run
    return print_report(browser, out / "report.html")


def test_demo_report_prints_on_a4_with_every_table_on_the_page(demo_printed: dict) -> None:
    check_printout(demo_printed)
    pages = len(demo_printed["pdf"].pages)
    # one or two pages of summary, about three per category, sources and parameters
    assert 12 <= pages <= 3 + 4 * demo_printed["categories"] + 6, pages
    assert demo_printed["wide"] == 0  # the demo's tables all fit portrait pages


def test_demo_printout_has_each_category_map_and_no_frame(demo_printed: dict) -> None:
    text = " ".join(_text(p) for p in demo_printed["pdf"].pages)
    # the map's legend and synthetic label are printed once per category
    assert text.count("街道边界 Sub-districts") == demo_printed["categories"]
    assert text.count("合成数据 SYNTHETIC DATA") >= demo_printed["categories"]
    assert "map.html" in text  # the printed note names the interactive map file


def test_many_long_sub_districts_print_within_the_pages(
    browser: sync_api.Browser, tmp_path: Path
) -> None:
    result = many_districts()
    path = write_report(result, tmp_path / "report.html", map_file=None)
    printed = print_report(browser, path)
    check_printout(printed)
    assert printed["wide"] >= 1  # six tiers: that category's table goes landscape
    landscape = [
        i
        for i, p in enumerate(printed["pdf"].pages)
        if float(p.mediabox.width) > float(p.mediabox.height)
    ]
    assert landscape
    # every one of the 40 sub-districts is printed (names wrap, none is cut)
    text = " ".join(_text(p) for p in printed["pdf"].pages).replace(" ", "")
    for k in (1, 17, 40):
        assert f"第{k}号街道办事处" in text
