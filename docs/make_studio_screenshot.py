"""Regenerate docs/img/studio.png: the studio on the demo, two suggested canteens accepted.

Run from the repository root (needs the ``studio`` and ``test`` extras and Debian's
``chromium``)::

    .venv/bin/python docs/make_studio_screenshot.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

from circle15 import Study
from circle15.serve import BackgroundServer, Studio, create_app

OUT = Path(__file__).resolve().parent / "img" / "studio.png"
IDLE = "body[data-ready]:not([data-busy])"


def main() -> None:
    result = Study.demo().run()
    studio = Studio(result, out_dir=Path("/nonexistent-screenshot"))  # writes nothing
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    with BackgroundServer(create_app(studio)) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=exe,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page.goto(server.url)
        page.wait_for_selector(IDLE, timeout=300_000)
        page.select_option("[data-testid=category]", "elderly_canteen")
        page.wait_for_selector(IDLE)
        page.fill("[data-testid=suggest-p]", "2")
        page.click("[data-testid=suggest]")
        page.wait_for_selector(IDLE, timeout=300_000)
        page.click("[data-testid=accept-all]")
        page.wait_for_selector(IDLE, timeout=300_000)
        page.select_option("[data-testid=view]", "change")
        page.click("[data-testid=mode-add]")
        page.mouse.move(10, 10)  # no tooltip in the picture
        page.wait_for_timeout(500)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT))
        browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
