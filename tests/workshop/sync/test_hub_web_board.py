"""The web board on a hub site shows the whole shop: it pulls every bench's events from the hub, and pushes none."""

from __future__ import annotations

import re
import time

from starlette.testclient import TestClient

from floorkiosk.web.app import make_app
from floorkiosk.web.people import Users
from floorkiosk.workshop import sync as hubsync
from floorkiosk.workshop import verbs

PASSWORD = "correct horse battery"


def _wait(cond, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_web_board_shows_what_another_bench_recorded_through_the_hub(make_kiosk):
    bench = make_kiosk("design", "design")
    office = make_kiosk("office", "design", register=False)  # the manager's machine: reads the hub, writes nothing
    users = Users(office.dir)
    users.add("eva", "manager", PASSWORD)
    job = verbs.create_job(bench, route="custom-ring", design="Hub halo", alloy="18KY", due="2027-05-01")
    app = make_app(office, users=users, hub=True)
    with TestClient(app, follow_redirects=False) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        assert c.post("/login", data={"csrf": token, "name": "eva", "password": PASSWORD}).status_code == 303
        assert "Hub halo" not in c.get("/").text  # not yet on the hub: the bench has not synced
        s = hubsync.Syncer(bench)
        try:
            s.sync_once()
        finally:
            s.close()
        _wait(lambda: "Hub halo" in c.get("/", params={"t": time.monotonic()}).text, what="the job on the web board")
        assert c.get(f"/job/{job}").status_code == 200
    assert office.journal.pending_count() == 0  # nothing of its own to push: the web recorded nothing
