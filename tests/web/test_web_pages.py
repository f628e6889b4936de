"""The web board's pages, as each role sees them: the board, a job, the KPIs, schedule, drift, CAPAs, metal, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from webkit import sign_in


def test_a_page_asks_for_a_sign_in_and_then_shows_the_board(client, floor):
    r = client.get("/")
    assert r.status_code == 401 and 'action="/login"' in r.text
    r = sign_in(client)
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    # lanes by stage, cards with photo thumbnails, rush, client, metal and stones with their certificate
    assert 'id="lane-cad-approval"' in text and 'id="card-J000001"' in text
    lane = text.split('id="lane-cad-approval"')[1].split("</article>")[0]
    assert "J000001" in lane and "Halo ring" in lane and "Aisha Bello" in lane and "GIA 2141438171" in lane
    assert f'/photo/thumb/{floor["photo"]}' in lane
    consult = text.split('id="lane-consultation"')[1].split("</article>")[0]
    assert "J000002" in consult and "RUSH" in consult
    assert "3</b> jobs on the floor" in text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_job_page_shows_route_history_photos_and_stones(client, floor):
    sign_in(client)
    r = client.get("/job/J000001")
    assert r.status_code == 200
    t = r.text
    assert "Consultation" in t and "done" in t and "CAD approval" in t.replace("CAD Approval", "CAD approval")
    assert f'/photo/full/{floor["photo"]}' in t and "GIA 2141438171" in t and "Aisha Bello" in t
    assert "History" in t and "Weights (g)" in t
    # a job typed in any way the bench would take it
    assert client.get("/job/j1").status_code == 200 and client.get("/job/1").status_code == 200
    photo = client.get(f'/photo/full/{floor["photo"]}')
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg" and photo.content[:2] == b"\xff\xd8"
    assert client.get(f'/photo/thumb/{floor["photo"]}').status_code == 200


@pytest.mark.parametrize("path", ["/kpis", "/schedule", "/spc", "/capa", "/metal"])
def test_every_page_opens_for_a_manager(client, floor, path):
    sign_in(client)
    if path == "/schedule":
        _schedule_made(client)
    r = client.get(path)
    assert r.status_code == 200, r.text[:2000]
    assert "<h1>" in r.text and "CSV" in r.text


def _schedule_made(client, timeout: float = 120.0) -> str:
    """The schedule page once its schedule is made (in a thread of its own: the page does not wait long)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        t = client.get("/schedule").text
        if 'id="schedule-making"' not in t:
            return t
        assert "could not be made" not in t, t
        assert time.monotonic() < deadline, "the schedule was not made"
        time.sleep(0.2)


def test_the_schedule_is_made_aside_and_the_board_does_not_wait_for_it(client, floor, app):
    sign_in(client)
    first = client.get("/schedule")
    assert first.status_code == 200 and "<h1>Master schedule</h1>" in first.text
    t = _schedule_made(client)
    assert "Capacity: planned work against declared hours" in t and "J000001" in t
    assert client.get("/").status_code == 200


def _csv(r) -> list[list[str]]:
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    return list(csv.reader(io.StringIO(r.text)))


def test_every_table_downloads_as_csv(client, floor):
    sign_in(client)
    lanes = _csv(client.get("/csv/board/lanes"))
    assert lanes[0][:3] == ["stage", "name", "pieces"]
    assert any(r[0] == "cad-approval" and r[2] == "1" for r in lanes[1:])
    cards = _csv(client.get("/csv/board/cards"))
    assert {r[0] for r in cards[1:]} == {"J000001", "J000002", "J000003"}
    # a cell that would run as a formula in a spreadsheet is kept as text
    assert any(r[3].startswith("<script>") for r in cards[1:])
    hist = _csv(client.get("/job/J000001/csv/history"))
    assert hist[0] == ["when", "what"] and len(hist) > 3
    for page, tables in {"kpis": ["summary", "ftrr", "yvr", "cdpa", "wip", "at_risk"],
                         "schedule": ["load", "late", "placements"], "spc": ["alerts", "charts"],
                         "capa": ["capa"], "metal": ["reconciliation", "balances"]}.items():
        for t in tables:
            rows = _csv(client.get(f"/csv/{page}/{t}"))
            assert rows and rows[0], (page, t)
    for t in ("route", "weights", "stones"):
        _csv(client.get(f"/job/J000001/csv/{t}"))
    assert client.get("/csv/board/nosuch").status_code == 404
    assert client.get("/job/J000001/csv/nosuch").status_code == 404


def test_what_a_page_shows_follows_the_role(client, floor):
    sign_in(client, "sam")  # sales: the board, jobs without weights, the schedule; never the metal
    assert client.get("/").status_code == 200
    job = client.get("/job/J000001")
    assert job.status_code == 200 and "Weights (g)" not in job.text and "Last weight" not in job.text
    assert client.get("/job/J000001/csv/weights").status_code == 404
    assert client.get("/schedule").status_code == 200
    for path in ("/metal", "/kpis", "/spc", "/capa", "/csv/metal/balances"):
        assert client.get(path).status_code == 403, path
    nav = client.get("/").text.split("<nav>")[1].split("</nav>")[0]
    assert "/metal" not in nav and "/schedule" in nav
    client.cookies.clear()
    sign_in(client, "sue")  # a supervisor: the process, not the metal
    assert client.get("/spc").status_code == 200 and client.get("/capa").status_code == 200
    assert "Weights (g)" in client.get("/job/J000001").text
    assert client.get("/metal").status_code == 403
    client.cookies.clear()
    sign_in(client, "eva")
    assert client.get("/metal").status_code == 200


def test_the_web_changes_nothing(client, floor, shop):
    sign_in(client)
    before = shop.journal.position()
    for path in ("/", "/job/J000001", "/kpis", "/schedule", "/spc", "/capa", "/metal", "/csv/board/cards"):
        client.get(path)
    for path in ("/", "/job/J000001", "/kpis"):
        assert client.post(path).status_code == 405
    assert shop.journal.position() == before
