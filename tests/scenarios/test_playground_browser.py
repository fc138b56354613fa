"""The playground in headless Chromium (Debian's), driven by Playwright: a two-wave canary started
from the start form (a field error first, then the plan) and seen on the Home tab, then to 100%
through the buttons (staging, the wave approval, prod), a rollback through its confirm dialog,
and a refused non-approver."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed and could not be "
                                "installed here (.ci/run installs Debian's chromium package)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def playground(redis_client, redis_url, tmp_path):
    """`redis_client` empties the worker's Redis first: what an earlier test left there (an active
    release of user, a leader lock) is not the playground's."""
    port = free_port()
    env = dict(os.environ, REDIS_URL=redis_url)
    log = open(tmp_path / "playground.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "playground", "--port", str(port), "--fast"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/api/users", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError((tmp_path / "playground.log").read_text()) from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(20)
    assert proc.returncode == 0, (tmp_path / "playground.log").read_text()    # clean shutdown


@pytest.fixture
def page(playground):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.set_default_timeout(40_000)
        tab.goto(playground)
        tab.wait_for_selector("[data-cluster=prod] [data-deploy=user-v1][data-ready='10']")
        yield tab
        browser.close()


def send(page, text: str, user: str = "U0ALICE") -> None:
    page.select_option("#user", user)
    page.fill("#text", text)
    page.press("#text", "Enter")


def approve(page, label: str) -> None:
    button = page.locator("#messages button[data-action-id=approve]", has_text=label)
    button.wait_for()
    button.click()


STAGING, PROD = "[data-cluster=staging]", "[data-cluster=prod]"


def start_through_the_form(page) -> None:
    """The start form: a bad version is refused on its field, then the plan, then Start."""
    page.select_option("#user", "U0ALICE")
    page.click("#start-form")
    page.wait_for_selector("#modal[open] >> text=Start a release")
    page.select_option("#modal-body select[name=app]", "user")
    page.fill("#modal-body input[name=version]", "V2!")
    page.click("#modal-submit")
    page.wait_for_selector("#modal-body [data-block=version] .error >> text=unexpected characters in 'user-V2!'")
    page.fill("#modal-body input[name=version]", "v2")
    page.fill("#modal-body input[name=steps]", "10%")
    page.click("#modal-submit")
    page.wait_for_selector("#modal-submit >> text=Start")
    assert "staging" in page.locator("#modal-body").inner_text()               # the plan, wave by wave
    page.click("#modal-submit")
    page.wait_for_selector("#modal", state="hidden")


def test_a_two_wave_canary_to_100_percent_through_the_buttons(page):
    start_through_the_form(page)
    page.click("#tab-home")                                                       # the Home tab shows it
    page.wait_for_selector("#home >> text=Waiting for your approval (1)")
    page.wait_for_selector("#home button[data-action-id=approve]")
    page.click("#tab-channel")
    for label in ("Approve 30%", "Approve 50%", "Approve 100%"):
        approve(page, label)
    page.wait_for_selector(f"{STAGING} [data-deploy=user-v2][data-ready='10'][data-replicas='10']")
    assert page.locator(f"{PROD} [data-deploy=user-v1]").get_attribute("data-ready") == "10"
    assert page.locator(f"{PROD} [data-deploy=user-v2]").count() == 0             # prod waits for its wave
    for label in ("Approve wave prod", "Approve 30%", "Approve 50%", "Approve 100%"):
        approve(page, label)
    for cluster in (STAGING, PROD):
        page.wait_for_selector(f"{cluster} [data-deploy=user-v2][data-ready='10'][data-replicas='10']")
        page.wait_for_selector(f"{cluster} [data-deploy=user-v1]", state="detached")
        assert page.locator(f"{cluster} [data-version-ready=user-v2]").inner_text() == "v2: 10"
    page.wait_for_selector("text=v2 serves everything in staging, prod")
    assert page.locator("#messages .bk-actions").count() == 0                    # no buttons left


def test_rollback_through_the_confirm_dialog_and_a_refused_non_approver(page):
    send(page, "/release canary user-v2 30%")
    page.locator("#messages button[data-action-id=approve]").wait_for()
    page.select_option("#user", "U0EVE")
    page.locator("#messages button[data-action-id=approve]").click()
    page.wait_for_selector(".msg.ephemeral >> text=is not an approver of user")
    assert page.locator(f"{STAGING} [data-deploy=user-v2]").get_attribute("data-replicas") == "3"
    page.select_option("#user", "U0ALICE")
    page.locator("#messages button[data-action-id=rollback]").click()
    assert "is scaled back to 10 pods first" in page.locator("#confirm-text").inner_text()
    page.locator("#confirm-ok").click()
    page.wait_for_selector(f"{STAGING} [data-deploy=user-v2]", state="detached")
    page.wait_for_selector(f"{STAGING} [data-deploy=user-v1][data-ready='10'][data-replicas='10']")
    page.wait_for_selector("text=Rolled back")
