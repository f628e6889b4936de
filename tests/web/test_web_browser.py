"""The web board in a real browser (Debian's chromium, driven by Playwright; no browser is downloaded): the board,
a card moving lanes after a FINISH at a bench, the job, the client's link, the phone and the wall.

Screenshots are kept as the run's artefacts in artefacts/web/ at the repository's root (ignored by git;
$FLOORKIOSK_ARTEFACTS names another folder), each run's replacing the last's."""

from __future__ import annotations

import io
import os
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from webkit import CHECKLIST, PASSWORD

CHROMIUM = os.environ.get("FLOORKIOSK_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(os.environ.get("FLOORKIOSK_ARTEFACTS") or Path(__file__).resolve().parents[2] / "artefacts") / "web"


def _browser_or_skip():
    why = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "Playwright for Python is not installed (pip install '.[test]')"
    if why is None and not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        why = f"no chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)"
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the browser test: {why}")
        pytest.skip(why)
    return sync_playwright


@pytest.fixture
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's sandbox cannot start
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def test_the_board_story_in_a_real_browser(browser, served, floor, shop, tmp_path):
    from floorkiosk.cli import main
    from floorkiosk.workshop import verbs
    from floorkiosk.workshop.site import open_shop

    shots = ARTEFACTS
    if shots.exists():
        shutil.rmtree(shots)
    shots.mkdir(parents=True)
    url = served.url
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(10_000)

    # the board asks for a sign-in, then shows the lanes
    page.goto(url + "/")
    page.fill("input[name=name]", "eva")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#lane-consultation #card-J000002")
    # the live feed is connected (waited on by the attribute: the page's CSP forbids a predicate evaluated in it)
    page.locator("body[data-live='open']").wait_for(state="attached")
    page.evaluate("window.__notReloaded = true")
    page.screenshot(path=str(shots / "1-board.png"), full_page=True)
    assert page.locator("#lane-cad-approval #card-J000001 img.thumb").count() == 1

    # a FINISH at the design bench, recorded as its kiosk records it, on the same site
    kiosk = open_shop(shop.dir)
    try:
        verbs.start(kiosk, "J000002", "dev", "design")
        verbs.finish(kiosk, "J000002", "dev", "design", checklist=CHECKLIST)
    finally:
        kiosk.close()
    page.wait_for_selector("#lane-cad-approval #card-J000002", timeout=3000)
    assert page.locator("#lane-consultation #card-J000002").count() == 0
    assert page.evaluate("window.__notReloaded") is True  # moved in place, no reload
    page.screenshot(path=str(shots / "2-card-moved.png"), full_page=True)

    # the job
    page.click("#card-J000002")
    page.wait_for_selector("text=Signet")
    assert "Omar Haddad" in page.content() and "CAD approval" in page.inner_text("ol.route")
    page.screenshot(path=str(shots / "3-job.png"), full_page=True)

    # the client's link, as `job link` prints it
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--site", str(shop.dir), "job", "link", "J000002", "--person", "farid", "--base-url", url]) == 0
    link = out.getvalue().strip().splitlines()[-1]
    assert link.startswith(url + "/c/J000002/")
    client = browser.new_context(viewport={"width": 390, "height": 844})  # the client, on a phone, signed in nowhere
    cp = client.new_page()
    cp.goto(link)
    assert cp.inner_text("#stage") == "CAD approval"
    body = cp.inner_text("body")
    assert "Omar" not in body and "Dev" not in body and "J000001" not in body
    cp.screenshot(path=str(shots / "4-client-link.png"), full_page=True)
    client.close()

    # the phone: one lane a row, the empty lanes left out
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=ctx.storage_state())
    pp = phone.new_page()
    pp.goto(url + "/")
    box = pp.locator("#lane-cad-approval").bounding_box()
    assert box is not None and box["width"] > 390 * 0.85
    assert not pp.locator("#lane-polishing").is_visible()
    pp.screenshot(path=str(shots / "5-phone.png"), full_page=True)
    phone.close()

    # the wall, opened by its token
    wall = browser.new_context(viewport={"width": 1920, "height": 1080})
    wp = wall.new_page()
    wp.goto(f"{url}/wall/{floor['users'].new_wall()}")
    wp.wait_for_selector("#lane-cad-approval")
    assert float(wp.evaluate("getComputedStyle(document.body).fontSize").rstrip("px")) >= 24
    wp.screenshot(path=str(shots / "6-wall.png"))
    wall.close()
    ctx.close()
    print(f"screenshots in {shots}")
    assert len(list(shots.glob("*.png"))) == 6
