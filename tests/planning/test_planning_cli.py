"""`floorkiosk schedule`, `promise`, `capacity`, `work`, `times`, and `job add --due` against the schedule."""

from __future__ import annotations

import pytest

from floorkiosk.cli import main
from floorkiosk.domain.calendar import PROMISE_ACCEPTED_LATE
from floorkiosk.workshop.site import init_site, open_shop


@pytest.fixture
def site_dir(tmp_path):
    d = tmp_path / "site"
    init_site(d, origin="test-bench")
    return d


def run(site_dir, *args: str) -> int:
    return main(["--site", str(site_dir), *args])


def accepted(site_dir) -> list:
    shop = open_shop(site_dir)
    try:
        return list(shop.journal.events(types=[PROMISE_ACCEPTED_LATE]))
    finally:
        shop.close()


def test_job_add_warns_when_the_due_date_cannot_be_kept_and_accept_late_records_it(site_dir, capsys):
    add = ("job", "add", "--route", "custom-ring", "--design", "Halo", "--alloy", "18KY")
    assert run(site_dir, *add, "--due", "2099-12-24") == 0
    out = capsys.readouterr()
    assert out.err == "" and out.out.strip() == "J000001"  # a date the shop can keep: not a word
    assert run(site_dir, *add, "--due", "2026-01-05", "--allow-past") == 0
    out = capsys.readouterr()
    assert "warning: due 2026-01-05 cannot be kept: the earliest the schedule can keep is 20" in out.err
    assert "--accept-late" in out.err and out.out.strip() == "J000002"
    assert accepted(site_dir) == []  # warned, not recorded as accepted
    assert run(site_dir, *add, "--due", "2026-01-05", "--allow-past", "--accept-late", "--count", "2") == 0
    out = capsys.readouterr()
    assert "recorded as accepted late" in out.err
    assert [e.job for e in accepted(site_dir)] == ["J000003", "J000004"]


def test_schedule_prints_every_stage_by_person_and_the_late_jobs_with_their_stage(site_dir, capsys):
    run(site_dir, "job", "add", "--route", "fabrication", "--design", "Signet", "--alloy", "18KY", "--due", "2026-01-05", "--allow-past")
    capsys.readouterr()
    assert run(site_dir, "schedule") == 0
    out = capsys.readouterr().out
    assert "master schedule: 1 open jobs, 7 stages, 1 late" in out and "J000001  fabrication" in out
    assert run(site_dir, "schedule", "--late") == 0
    out = capsys.readouterr().out
    assert "LATE J000001  due 2026-01-05  planned end" in out and "held back by" in out
    assert run(site_dir, "schedule", "--person", "ana") == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines()[1:] if ln.strip()]
    assert lines and all(ln.startswith("ana ") for ln in lines)
    assert run(site_dir, "schedule", "--load") == 0
    assert "fabrication" in capsys.readouterr().out
    assert run(site_dir, "schedule", "--week", "next tuesday") == 2
    assert "is not a week such as 2026-W50" in capsys.readouterr().err


def test_promise_answers_a_date_and_why(site_dir, capsys):
    assert run(site_dir, "promise", "--route", "fabrication", "--design", "Signet", "--count", "3", "--rush") == 0
    out = capsys.readouterr().out
    assert "earliest date the shop can keep for 3 pieces of 'Signet' on fabrication: 20" in out
    assert run(site_dir, "promise", "--route", "nowhere", "--design", "Signet") == 2
    assert "unknown route 'nowhere'" in capsys.readouterr().err


def test_capacity_declare_and_show_and_a_refusal_in_words(site_dir, capsys):
    assert run(site_dir, "capacity", "declare", "ben", "setting=20", "cleanup=6") == 0
    assert "Ben Okafor: setting=20, cleanup=6 for 20" in capsys.readouterr().out
    assert run(site_dir, "capacity", "show") == 0
    ben = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("ben "))
    assert "setting 20 h" in ben and "cleanup 6 h" in ben and ben.endswith("[declared]")
    assert run(site_dir, "capacity", "declare", "ben", "setting=90") == 2
    assert "declares 90 hours, more than the" in capsys.readouterr().err
    assert run(site_dir, "capacity", "declare", "ben", "setting:20") == 2
    assert "give hours as SKILL=HOURS" in capsys.readouterr().err


def test_work_pause_and_resume_and_times(site_dir, capsys):
    run(site_dir, "job", "add", "--route", "fabrication", "--design", "Signet", "--alloy", "18KY", "--due", "2099-01-05")
    shop = open_shop(site_dir)
    try:
        from floorkiosk.workshop import verbs

        verbs.start(shop, "J000001", "ana", "cleanup")
    finally:
        shop.close()
    capsys.readouterr()
    assert run(site_dir, "work", "pause", "J000001", "--person", "ana") == 0
    assert "paused fabrication on J000001" in capsys.readouterr().out
    assert run(site_dir, "work", "pause", "J000001", "--person", "ana") == 2
    assert "paused already" in capsys.readouterr().err
    assert run(site_dir, "work", "resume", "J1", "--person", "ana") == 0
    assert run(site_dir, "times", "--route", "fabrication") == 0
    assert "stone-setting          3.0 h (default)" in capsys.readouterr().out


def test_the_same_work_gives_the_same_schedule_in_every_process(site_dir, capsys):
    # a schedule made again from the same data (another process: Python's string hashes differ) must not
    # reshuffle who does what when; ties between equal people or equal plans are broken the same way
    import os
    import subprocess
    import sys  # a fresh interpreter per run: its PYTHONHASHSEED is what differs

    for i, route in enumerate(["custom-ring", "fabrication", "custom-ring", "fabrication"] * 3):
        assert run(site_dir, "job", "add", "--route", route, "--design", f"D{i % 3}", "--alloy", "18KY",
                   "--due", f"2027-01-{5 + i:02d}", "--accept-late") == 0
    capsys.readouterr()
    plan = (  # made at one fixed moment, so that only the process differs
        "import sys\nfrom datetime import datetime, timezone\n"
        "from floorkiosk.workshop.schedule import master_schedule\nfrom floorkiosk.workshop.site import open_shop\n"
        "shop = open_shop(sys.argv[1], clock=lambda: datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc))\n"
        "m = master_schedule(shop, fresh=True)\n"
        "print(sorted((p.job, p.stage, p.person, p.start, p.end) for p in m.plan.placements), sorted(m.plan.late))\n")
    plans = []
    for seed in ("1", "2", "3", "4"):
        done = subprocess.run([sys.executable, "-c", plan, str(site_dir)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, timeout=300)
        assert done.returncode == 0, done.stderr
        plans.append(done.stdout)
    assert "J000012" in plans[0]
    assert plans[1:] == plans[:1] * 3
