"""A job's promise and lateness, one reading everywhere; delays name who records them; late work relabelled a
client delay needs a supervisor and stays in CDPA, counted apart.

The small workshop of conftest.py; "now" is Fri 20 Nov 2026 12:00 unless a test says otherwise.
"""

from __future__ import annotations

import csv
import re
import shutil
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from handclock import HandClock

from floorkiosk.cli import main
from floorkiosk.domain import kpi as k
from floorkiosk.errors import NotFound, Refused
from floorkiosk.kiosk.board import lane_text
from floorkiosk.kiosk.kpi_screen import risk_text
from floorkiosk.workshop import cards, kpi, verbs
from floorkiosk.workshop import site as site_mod

from .conftest import SITE3, Clock, week_of_five

WEEK = (date(2026, 11, 16), date(2026, 11, 20))


def site_like_site3(tmp_path: Path, *, timezone_name: str = "UTC", pin: bool = False) -> Path:
    """site3's config, in another time zone or with supervisors' PINs asked for (Eva's is 2468)."""
    cfg = tmp_path / "cfg"
    shutil.copytree(SITE3, cfg)
    site_toml = cfg / "site.toml"
    text = site_toml.read_text().replace('timezone = "UTC"', f'timezone = "{timezone_name}"')
    if pin:
        text = text.replace("supervisor_pin = false", "supervisor_pin = true")
        people = cfg / "people.toml"
        people.write_text(people.read_text().replace('roles = ["supervisor"]', 'roles = ["supervisor"]\npin = "2468"'))
    site_toml.write_text(text)
    return cfg


def open_site3(tmp_path: Path, clock: HandClock, **kw):
    site_mod.init_site(tmp_path / "site", site_like_site3(tmp_path, **kw), origin="kpi-test")
    shop = site_mod.open_shop(tmp_path / "site", clock=clock)
    shop.test_clock = clock
    return shop


@pytest.fixture
def pinned(tmp_path):
    shop = open_site3(tmp_path, Clock(), pin=True)
    yield shop
    shop.close()


@pytest.fixture
def on_clock(monkeypatch):
    """`floorkiosk …` commands run on a given clock instead of the wall clock."""
    real = site_mod.open_shop

    def use(clock: HandClock) -> None:
        monkeypatch.setattr(site_mod, "open_shop", lambda d=None, **kw: real(d, **{**kw, "clock": clock}))
    return use


def delays_recorded(shop, job: str) -> int:
    return sum(1 for e in shop.journal.recent(job, 100) if e.type == k.JOB_DELAYED)


def rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --- 6. late work relabelled a client delay ------------------------------------------------------------
def test_a_late_client_delay_needs_a_supervisor_and_stays_in_cdpa(pinned):
    five = week_of_five(pinned)
    j4 = five["J4"]  # due Wed 18th, not delivered: two days late on Fri 20th
    assert kpi.report(pinned, *WEEK).cdpa.cdpa == Decimal("33.3")
    late = dict(by="client", new_due="2026-11-27", reason="client asked to collect next week")
    with pytest.raises(Refused, match="say who records the delay"):  # by nobody in particular
        kpi.delay_job(pinned, j4, **late, person_id=None)
    with pytest.raises(Refused, match=r"promised for 2026-11-18 and is 2 days late: .* supervisor's badge"):
        kpi.delay_job(pinned, j4, **late, person_id="dev")
    with pytest.raises(Refused, match="Ben Okafor is not a supervisor"):  # an artisan's badge
        kpi.delay_job(pinned, j4, **late, person_id="dev", supervisor="B1002")
    with pytest.raises(Refused, match="badge B9999 is not known"):
        kpi.delay_job(pinned, j4, **late, person_id="dev", supervisor="B9999")
    with pytest.raises(Refused, match="not a supervisor's badge"):  # a job bag is no badge
        kpi.delay_job(pinned, j4, **late, person_id="dev", supervisor="FK:J:J000004")
    with pytest.raises(Refused, match="PIN"):  # the site asks supervisors for their PIN
        kpi.delay_job(pinned, j4, **late, person_id="dev", supervisor="B2001")
    with pytest.raises(Refused, match="PIN"):
        kpi.delay_job(pinned, j4, **late, person_id="dev", supervisor="B2001", pin="1111")
    with pytest.raises(Refused, match="say why"):
        kpi.delay_job(pinned, j4, **(late | {"reason": " "}), person_id="dev", supervisor="B2001", pin="2468")
    assert delays_recorded(pinned, j4) == 0
    r = kpi.report(pinned, *WEEK)
    assert (r.cdpa.promised, r.cdpa.on_time, r.cdpa.cdpa, r.cdpa.relabelled) == (3, 1, Decimal("33.3"), 0)

    # the supervisor's badge (as scanned) and PIN: recorded, and counted apart, never excluded
    e = kpi.delay_job(pinned, j4, **late, person_id="dev", supervisor="FK:P:B2001", pin="2468")
    assert (e.person, e.payload["supervisor"], e.payload["late_days"], e.payload["old_due"]) == ("dev", "eva", 2,
                                                                                                 "2026-11-18")
    rd = kpi.report(pinned, *WEEK, detail=True)
    c = rd.cdpa
    # still 1 of 3 (33.3 %, not 1 of 2 = 50 %): J4 is judged against the 18th; only J3 (asked in time) is excluded
    assert (c.promised, c.on_time, c.missed_open, c.cdpa) == (3, 1, 1, Decimal("33.3"))
    assert (c.client_delayed, c.relabelled) == (1, 1)
    assert j4 in c.late_jobs
    assert {p.job: k.promise_word(p, rd.today) for p in rd.promises}[j4] == "late, then relabelled"
    assert k.delivery_adherence(rd.promises, rd.today) == c  # judged one by one, the same
    headline = dict(kpi.summary_lines(pinned, rd))["CDPA"]
    assert headline == "33.3% of 3 promised deliveries (1 client-initiated delays excluded; 1 late, then relabelled: counted)"
    told = pinned.describe(e)
    assert "2 days after the promise had passed (late, then relabelled), approved by Eva Lindqvist" in told
    # the bench works to the new date, which the client agreed to
    card = cards.job_card(pinned, j4)
    assert (card.job.due, card.days_left, card.late, card.due.relabelled) == ("2026-11-27", 7, False, 1)
    before = pinned.journal.state_digest()
    pinned.journal.rebuild()
    assert pinned.journal.state_digest() == before


def test_delays_in_time_or_by_the_shop_need_no_supervisor(pinned):
    five = week_of_five(pinned)
    (today,) = verbs.create_jobs(pinned, [dict(route="simple", design="Signet", alloy="18KY", due="2026-11-20")])
    # J5 is due tomorrow and `today` today: the promise has not passed, the client may move it
    kpi.delay_job(pinned, five["J5"], by="client", new_due="2026-11-30", reason="stone not chosen", person_id="dev")
    kpi.delay_job(pinned, today, by="client", new_due="2026-11-23", reason="away today", person_id="dev")
    # the shop moving its own date on late J4 needs nobody's badge, and excuses nothing
    e = kpi.delay_job(pinned, five["J4"], by="shop", new_due="2026-11-27", reason="setter off sick", person_id="eva")
    assert "supervisor" not in e.payload and "late_days" not in e.payload
    r = kpi.report(pinned, date(2026, 11, 16), date(2026, 11, 30))
    assert (r.cdpa.client_delayed, r.cdpa.relabelled) == (3, 0)  # J3, J5 and `today`, all asked in time
    assert five["J4"] in r.cdpa.late_jobs
    card = cards.job_card(pinned, five["J4"])
    assert (card.job.due, card.days_left, card.late) == ("2026-11-18", -2, True)
    assert card.due.shop_date == date(2026, 11, 27)


def test_the_delay_command_names_the_person_and_the_supervisor(pinned, on_clock, tmp_path, capsys):
    five = week_of_five(pinned)
    pinned.close()
    on_clock(pinned.test_clock)
    site = str(pinned.dir)
    base = ["--site", site, "delay", five["J4"], "--by", "client", "--new-due", "2026-11-27", "--reason", "collects later"]
    with pytest.raises(SystemExit):  # --person is required
        main(base)
    capsys.readouterr()
    assert main([*base, "--person", "dev"]) == 2
    assert "supervisor's badge" in capsys.readouterr().err
    assert main([*base, "--person", "dev", "--supervisor", "B2001", "--pin", "0000"]) == 2
    assert "PIN" in capsys.readouterr().err
    assert main([*base, "--person", "dev", "--supervisor", "B2001", "--pin", "2468"]) == 0
    out = capsys.readouterr().out
    assert "due 2026-11-18 -> 2026-11-27 (client-initiated, 2 days after the promise had passed" in out
    assert "late, then relabelled: still counted in CDPA" in out

    out_dir = tmp_path / "report"
    assert main(["--site", site, "report", "--from", "2026-11-16", "--to", "2026-11-20", "-o", str(out_dir)]) == 0
    (cdpa,) = rows(out_dir / "cdpa.csv")
    assert (cdpa["promised"], cdpa["cdpa_pct"], cdpa["client_initiated_delays"], cdpa["late_then_relabelled"]) == (
        "3", "33.3", "1", "1")
    promises = {r["job"]: r for r in rows(out_dir / "promises.csv")}
    assert (promises[five["J4"]]["counted_as"], promises[five["J4"]]["relabelled"]) == ("late, then relabelled", "1")
    assert promises[five["J3"]]["counted_as"] == "excluded: client-initiated delay"
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "late, then relabelled" in page


# --- 10. one promise, one lateness, in every view ----------------------------------------------------
# (design, due first promised, what happens to it) -> the promise, days left and late every view shows,
# and how the report counts it
CASES = {
    "late": ("Ring resize", "2026-11-18", None, ("2026-11-18", -2, True, "missed (not delivered)")),
    "due today": ("Stone reset", "2026-11-20", None, ("2026-11-20", 0, False, "pending")),
    "not late": ("Chain polish", "2026-11-25", None, ("2026-11-25", 5, False, "pending")),
    "client-delayed": ("Halo ring", "2026-11-19", "client", ("2026-11-24", 4, False, "excluded: client-initiated delay")),
    "shop-delayed": ("Signet ring", "2026-11-19", "shop", ("2026-11-19", -1, True, "missed (not delivered)")),
}


def five_dues(shop) -> dict[str, str]:
    c = shop.test_clock
    c.at(16, 9)
    ids = verbs.create_jobs(shop, [dict(route="simple", design=d, alloy="18KY", due=due) for d, due, _, _ in CASES.values()])
    jobs = dict(zip(CASES, ids))
    c.at(17, 9)  # both asked for before the 19th had passed
    kpi.delay_job(shop, jobs["client-delayed"], by="client", new_due="2026-11-24", reason="client away", person_id="eva")
    kpi.delay_job(shop, jobs["shop-delayed"], by="shop", new_due="2026-11-26", reason="flask cracked", person_id="eva")
    c.at(20, 12)
    return jobs


def test_every_view_tells_one_due_state(small, on_clock, tmp_path, capsys):
    jobs = five_dues(small)
    want = {jobs[case]: expected[:3] for case, (_, _, _, expected) in CASES.items()}
    words = {jobs[case]: expected[3] for case, (_, _, _, expected) in CASES.items()}
    late = {j for j, (_, _, is_late) in want.items() if is_late}

    # the job card (`job show`, the kiosk's card) and the domain's own reading
    assert {j: (c.job.due, c.days_left, c.late) for j in want if (c := cards.job_card(small, j))} == want
    assert {j: (c.due.due, c.due.days_left, c.due.late) for j in want if (c := cards.job_card(small, j))} == want
    # the worklist of the setting bench
    work = {w.job: (w.due, w.days_left, w.late) for w in cards.worklist(small, "setting", "sofia")}
    assert work == want
    # the board: pieces, lane and floor counts, and the lane as the kiosk draws it
    b = kpi.board(small, per_lane=10)
    (lane,) = [ln for ln in b.lanes if ln.stage == "setting"]
    assert {p.job: (p.due, p.days_left, p.late) for p in lane.oldest} == want
    assert (lane.late, b.late, {p.job for p in lane.late_pieces}) == (2, 2, late)
    drawn = lane_text(lane)
    assert {drawn.plain[s.start:s.end].split()[0].lstrip("!") for s in drawn.spans if s.style == "red"} == late
    # the KPIs: late jobs, at risk, the screen's list, the promises
    r = kpi.report(small, date(2026, 11, 16), date(2026, 11, 30), detail=True)
    assert r.late_total == 2
    assert {a.job: (a.due.isoformat(), a.days_left, a.late) for a in r.at_risk if a.late} == {j: want[j] for j in late}
    shown = risk_text(r).plain
    for j in want:
        due, left, is_late = want[j]
        assert (f"{j} due {due} ({-left} d late)" in shown) == is_late, shown
    assert {p.job: (p.due_now.isoformat(), k.promise_word(p, r.today)) for p in r.promises} == {
        j: (want[j][0], words[j]) for j in want}
    assert dict(kpi.summary_lines(small, r))["At risk"] == "0 at risk, 2 late"

    # the commands, on the same clock
    small.close()
    on_clock(small.test_clock)
    site = str(small.dir)
    for j, (due, left, is_late) in want.items():
        assert main(["--site", site, "job", "show", j]) == 0
        out = capsys.readouterr().out
        expect = f"due {due} ({-left} days LATE)" if is_late else f"due {due} ({left} days left)"
        assert expect in out, out
    assert main(["--site", site, "board"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("5 jobs on the floor, 2 late")
    for j, (due, _, is_late) in want.items():
        assert re.search(rf"  {j}  waiting .* due {due}{'  LATE' if is_late else ''}  ", out), out
    assert main(["--site", site, "report", "--from", "2026-11-16", "--to", "2026-11-30"]) == 0
    assert "At risk              0 at risk, 2 late" in capsys.readouterr().out
    out_dir = tmp_path / "report"
    assert main(["--site", site, "report", "--from", "2026-11-16", "--to", "2026-11-30", "-o", str(out_dir)]) == 0
    assert {r["job"]: (r["due_now"], r["counted_as"]) for r in rows(out_dir / "promises.csv")} == {
        j: (want[j][0], words[j]) for j in want}
    assert {r["job"]: (r["due"], r["days_left"]) for r in rows(out_dir / "at_risk.csv")} == {
        j: (want[j][0], str(want[j][1])) for j in late}


def test_the_sites_today_is_the_one_of_its_time_zone(tmp_path):
    # Fri 20 Nov 12:00 UTC is already Sat 21 Nov 01:00 in Auckland: a job due on the 20th is a day late there
    clock = HandClock(datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc))
    shop = open_site3(tmp_path, clock, timezone_name="Pacific/Auckland")
    try:
        (j,) = verbs.create_jobs(shop, [dict(route="simple", design="Ring resize", alloy="18KY", due="2026-11-20")])
        clock.at(20, 12)
        card = cards.job_card(shop, j)
        assert (card.days_left, card.late) == (-1, True)
        assert [(w.days_left, w.late) for w in cards.worklist(shop, "setting", "ben")] == [(-1, True)]
        (piece,) = [p for ln in kpi.board(shop).lanes for p in ln.oldest]
        assert (piece.days_left, piece.late) == (-1, True)
        r = kpi.report(shop, date(2026, 11, 16), date(2026, 11, 21))
        assert (r.today, r.late_total, [a.days_left for a in r.at_risk]) == (date(2026, 11, 21), 1, [-1])
        # a client delay recorded now comes a day after the promise there: late work, relabelled
        with pytest.raises(Refused, match="1 day late"):
            kpi.delay_job(shop, j, by="client", new_due="2026-11-28", reason="client away", person_id="ben")
    finally:
        shop.close()


def test_an_unknown_job_is_still_unknown(small):
    with pytest.raises(NotFound):
        kpi.delay_job(small, "J000099", by="shop", new_due="2026-12-01", reason="x", person_id="eva")


def test_the_promise_column_is_set_again_for_an_existing_site(pinned):
    """An older site's flow rows: moved by every delay, no count of relabelled ones; its next start sets them
    as a rebuild would."""
    five = week_of_five(pinned)
    kpi.delay_job(pinned, five["J5"], by="shop", new_due="2026-11-26", reason="setter off sick", person_id="eva")
    kpi.delay_job(pinned, five["J4"], by="client", new_due="2026-11-27", reason="collects later", person_id="dev",
                  supervisor="B2001", pin="2468")
    digest = pinned.journal.state_digest()
    conn = pinned.journal.conn
    with pinned.journal.lock:
        conn.execute("DROP INDEX kpi_jobs_promise")
        conn.execute("ALTER TABLE kpi_jobs DROP COLUMN relabelled")
        conn.execute("ALTER TABLE kpi_jobs DROP COLUMN standards")  # nor the version of each job's standards
        conn.execute("DELETE FROM migrations WHERE name = 'kpi_007_versions'")
        conn.execute("CREATE INDEX kpi_jobs_promise ON kpi_jobs (promised, client_delays, delivered_day, due,"
                     " client_delay_days)")
        conn.execute("UPDATE kpi_jobs SET due = '2026-11-26' WHERE job = ?", (five["J5"],))  # as a shop delay moved it
        conn.execute("UPDATE kpi_stages SET due = '2026-11-26' WHERE job = ?", (five["J5"],))
        conn.execute("DELETE FROM migrations WHERE name = 'kpi_004_promises'")
        conn.commit()
    pinned.close()
    again = site_mod.open_shop(pinned.dir, clock=pinned.test_clock)
    try:
        assert again.journal.state_digest() == digest
        assert again.journal.query("SELECT due, relabelled FROM kpi_jobs WHERE job = ?", (five["J4"],)) == [
            ("2026-11-27", 1)]
    finally:
        again.close()
