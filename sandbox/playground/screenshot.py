"""Takes the README's picture of the playground in the middle of a canary.

    .venv/bin/python -m sandbox.playground.screenshot docs/playground.png
"""
from __future__ import annotations

import shutil
import sys
import time

from .run import Playground


def main(path: str) -> None:
    from playwright.sync_api import sync_playwright

    playground = Playground(port=0, fast=True).start()
    url = f"http://127.0.0.1:{playground.console.server_address[1]}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.goto(url)
            page.wait_for_selector("[data-deploy=user-v1][data-ready='10']")
            time.sleep(6)                                   # some traffic history for the chart
            page.fill("#text", "/release canary user-v2 10%")
            page.press("#text", "Enter")
            page.locator("button[data-action-id=approve]", has_text="Approve 30%").click(timeout=30_000)
            page.locator("button[data-action-id=approve]", has_text="Approve 50%").wait_for(timeout=30_000)
            time.sleep(8)
            page.screenshot(path=path)
            browser.close()
    finally:
        playground.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/playground.png")
