"""`floorkiosk job add|import|list` as a production manager uses them: stone lines, a spreadsheet, the list."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clirun import journal_count, run  # tests/ is on the path (pytest rootdir)
from floorkiosk.cli import build_parser, main
from floorkiosk.domain import events as ev
from floorkiosk.workshop.site import open_shop

FUTURE = "2099-12-24"
RING = ["--route", "custom-ring", "--design", "Halo ring", "--alloy", "18KY"]


@pytest.fixture
def site(tmp_path, capsys):
    d = tmp_path / "shop"
    assert main(["--site", str(d), "init"]) == 0
    capsys.readouterr()
    return str(d)


# -- 11: stone lines on a new job ------------------------------------------------------------------------

def test_job_add_takes_stone_lines_and_the_stones_can_then_be_issued(site, capsys):
    code, out, err = run(site, capsys, "job", "add", *RING, "--due", FUTURE, "--person", "dev",
                         "--stone", "3 × round diamond 0.05 ct, GIA 2141438171", "--stone", "1 x oval sapphire 1.35 ct")
    assert code == 0, err
    assert out.splitlines() == ["J000001", "  stone line 1: 3 round diamond, 0.150 ct (GIA 2141438171)",
                                "  stone line 2: 1 oval sapphire, 1.350 ct"]
    code, out, err = run(site, capsys, "job", "show", "J000001")
    assert "stones: 1. 3 round diamond, 0.150 ct (GIA 2141438171); 2. 1 oval sapphire, 1.350 ct" in out
    # what answered "has no stones on its job card" before: the stones of line 1 go to the setter
    code, out, err = run(site, capsys, "stones", "issue", "J000001", "--to", "ben", "--by", "farid")
    assert code == 0, err
    assert "issued stone parcel SP0001 to Ben Okafor: 3 round diamond, 0.150 ct (GIA 2141438171)" in out
    code, out, err = run(site, capsys, "stones", "issue", "J000001", "--to", "ben", "--by", "farid", "--line", "2")
    assert code == 0 and "1 oval sapphire, 1.350 ct" in out


def test_a_stone_line_weighed_together_is_the_lines_total(site, capsys):
    code, out, _ = run(site, capsys, "job", "add", *RING, "--due", FUTURE, "--stone", "18 x round diamond 0.36 ct tw")
    assert code == 0 and "stone line 1: 18 round diamond, 0.360 ct" in out


def test_bad_stone_lines_are_each_refused_in_words_and_nothing_is_recorded(site, capsys):
    before = journal_count(site)
    code, out, err = run(site, capsys, "job", "add", *RING, "--due", FUTURE, "--stone", "three diamonds",
                         "--stone", "3 x round diamond 0.05", "--stone", "2 × pear diamond 0.30 ct",
                         "--stone", "0 × diamond")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.splitlines() == [
        "stone line 'three diamonds': start with the number of stones; write it like "
        "'3 × round diamond 0.05 ct, GIA 2141438171'",
        "stone line '3 x round diamond 0.05': 0.05 has no unit: write its carat weight with ct (0.05 ct); "
        "write it like '3 × round diamond 0.05 ct, GIA 2141438171'",
        "stone line '0 × diamond': at least 1 stone, not 0; write it like '3 × round diamond 0.05 ct, GIA 2141438171'",
        "nothing was recorded"]
    assert journal_count(site) == before


# -- 12: jobs from a spreadsheet ---------------------------------------------------------------------------

def write(tmp_path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_job_import_creates_every_row_with_its_stones(site, capsys, tmp_path):
    f = write(tmp_path, "jobs.csv",
              "route,design,alloy,due,client,spec,rush,stones,count\n"
              f"custom-ring,Halo ring,18KY,{FUTURE},Aisha Bello,no rhodium,yes,"
              '"3 × round diamond 0.05 ct, GIA 2141438171; 1 oval sapphire 1.2 ct",\n'
              "\n"
              f"casting-line,Stacking ring,14KY,{FUTURE},,,,,3\n")
    code, out, err = run(site, capsys, "job", "import", f, "--person", "dev")
    assert code == 0, err
    assert out.splitlines() == ["J000001", "J000002", "J000003", "J000004", f"4 jobs imported from {f}"]
    shop = open_shop(site)
    try:
        ring = shop.job("J000001")
        assert (ring.client, ring.client_initials, ring.priority) == ("Aisha Bello", "AB", "rush")
        assert ring.stones == [{"kind": "diamond", "shape": "round", "count": 3, "ct": "0.150", "cert": "GIA 2141438171"},
                               {"kind": "sapphire", "shape": "oval", "count": 1, "ct": "1.200"}]
        assert [shop.job(j).design for j in ("J000002", "J000003", "J000004")] == ["Stacking ring"] * 3
        created = list(shop.journal.events(types=[ev.JOB_CREATED]))
        assert {e.person for e in created} == {"dev"}
    finally:
        shop.close()


def test_job_import_lists_every_wrong_row_as_file_line_and_records_nothing(site, capsys, tmp_path):
    f = write(tmp_path, "jobs.csv",
              "route,design,alloy,due,rush,stones\n"
              f"custom-ring,Halo ring,18KY,{FUTURE},no,\n"  # a good row: not recorded either
              f"nowhere,Band,18KZ,{FUTURE},maybe,three stones\n"
              "custom-ring,,18KY,2027-13-01,,\n"
              "casting-line,Pendant,925,2020-01-01,,\n")
    before = journal_count(site)
    code, out, err = run(site, capsys, "job", "import", f)
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.splitlines() == [
        f"{f}:3: rush is yes or no, not 'maybe'",
        f"{f}:3: stone line 'three stones': start with the number of stones; write it like "
        "'3 × round diamond 0.05 ct, GIA 2141438171'",
        f"{f}:3: unknown route 'nowhere'; routes: custom-ring, casting-line, fabrication",
        f"{f}:3: unknown alloy '18KZ'; alloys: 24K, 22KY, 18KY, 18KW, 14KY, 10KY, 9KY, 925, PT950",
        f"{f}:4: no design: say what the piece is (Halo ring, Stacking ring …)",
        f"{f}:4: due date '2027-13-01' is not a date like 2026-12-24",
        f"{f}:5: due date 2020-01-01 is in the past (today is {today(site)}): a promise already broken is usually "
        "a typing mistake; if it is meant, say so with --allow-past",
        f"{f}: nothing was recorded (3 of 4 rows are wrong)"]
    assert journal_count(site) == before


def today(site) -> str:
    from floorkiosk.workshop.cards import site_today

    shop = open_shop(site)
    try:
        return str(site_today(shop))
    finally:
        shop.close()


def test_job_import_refuses_a_file_without_the_columns_it_needs(site, capsys, tmp_path):
    f = write(tmp_path, "h.csv", "route,design,colour\ncustom-ring,Halo ring,red\n")
    code, out, err = run(site, capsys, "job", "import", f)
    assert code == 2
    assert err.splitlines() == [
        f"{f}:1: unknown column 'colour'; columns: route, design, alloy, due, client, spec, rush, stones, count, price",
        f"{f}:1: no 'alloy' column: every job needs its alloy",
        f"{f}:1: no 'due' column: every job needs its due date",
        f"{f}: nothing was recorded"]
    for name, text, said in (("empty.csv", "", "no header row"),
                             ("latin.csv", "route,design,alloy,due\ncustom-ring,Bague \xe9l\xe9gante,18KY,2099-01-01\n",
                              "latin.csv:2: not UTF-8 text")):
        p = tmp_path / name
        p.write_bytes(text.encode("latin-1"))
        code, out, err = run(site, capsys, "job", "import", str(p))
        assert code == 2 and said in err and "Traceback" not in err
    code, out, err = run(site, capsys, "job", "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv: no such file" in err


def test_job_import_reads_a_spreadsheets_semicolons_and_byte_order_mark(site, capsys, tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes(f"\ufeffRoute;Design;Alloy;Due\ncustom-ring;Halo ring;18KY;{FUTURE}\n".encode())
    code, out, err = run(site, capsys, "job", "import", str(p))
    assert code == 0, err
    assert out.splitlines()[-1] == f"1 job imported from {p}"


# -- 16: the list, the stage, a past promise, --person -----------------------------------------------------

def test_job_list_has_a_header_and_marks_rush_late_and_held_jobs(site, capsys):
    run(site, capsys, "job", "add", *RING, "--due", FUTURE, "--rush")
    run(site, capsys, "job", "add", *RING, "--due", "2020-06-01", "--allow-past")
    code, out, err = run(site, capsys, "job", "list")
    assert code == 0, err
    head, late, rush = out.splitlines()
    assert head.split() == ["JOB", "DUE", "ALLOY", "ROUTE", "NOW", "FLAGS", "DESIGN"]
    assert late.startswith("J000002  2020-06-01") and " LATE " in late and "RUSH" not in late
    assert rush.startswith("J000001  2099-12-24") and " RUSH " in rush and "LATE" not in rush


def test_job_list_of_an_unknown_stage_is_an_error_naming_the_stages(site, capsys):
    run(site, capsys, "job", "add", *RING, "--due", FUTURE)
    code, out, err = run(site, capsys, "job", "list", "--stage", "nonsense")
    assert code == 2 and out == ""
    assert err.startswith("floorkiosk: no stage 'nonsense'; stages: consultation, cad-approval, wax-print,")
    code, out, err = run(site, capsys, "job", "list", "--stage", "Stone setting")  # its name does too
    assert code == 0 and out.strip() == "no jobs have reached Stone setting"


def test_a_past_due_date_asks_for_allow_past(site, capsys):
    before = journal_count(site)
    code, out, err = run(site, capsys, "job", "add", *RING, "--due", "2020-06-01")
    assert code == 2 and out == "" and "is in the past" in err and "--allow-past" in err
    assert journal_count(site) == before
    code, out, err = run(site, capsys, "job", "add", *RING, "--due", "2020-06-01", "--allow-past")
    assert code == 0 and out.strip() == "J000001"


def test_job_add_records_who_entered_it(site, capsys):
    code, out, err = run(site, capsys, "job", "add", *RING, "--due", FUTURE, "--person", "dev", "--bench", "design")
    assert code == 0, err
    shop = open_shop(site)
    try:
        (e,) = shop.journal.events(types=[ev.JOB_CREATED])
        assert (e.person, e.bench) == ("dev", "design")
    finally:
        shop.close()
    code, out, err = run(site, capsys, "job", "add", *RING, "--due", FUTURE, "--person", "zed")
    assert code == 2 and "no person 'zed'" in err


# The sub-commands that record nothing: every other one records, and names who with --person.
READ_ONLY = {
    "init", "check", "demo", "kiosk", "job show", "job list", "batch show", "batch list", "audit verify",
    "scale read", "scale probe", "scale profiles", "sim scale", "decode",
    "label list", "label render", "label badges", "label commands",
    "qc plans", "qc inspections", "qc sample", "qc pareto", "stones show",
    "metal tree list", "metal balance", "metal reconcile", "report", "board",
    "hub init", "sync status", "sync conflicts", "sync run",
    "spc", "spc show", "capa", "capa list", "capa show", "tool list", "tool show",
    "promise", "capacity show", "times", "schedule", "standards", "standards log", "standards diff", "cost", "quote",
    "hub add-origin",  # the hub's admin registers a bench's origin: no event in a journal
    "sync recover",  # a bench's own events brought back from the hub, as they were recorded
    "bench install",  # writes a bench machine's systemd unit: nothing in a journal
    "sync compare",  # a replay of the hub's journal in a temporary folder: nothing recorded here
    "web user add", "web user remove", "web user list", "web wall",  # the web's own file, no event in a journal
}
# Commands that name the person as their first argument rather than with --person.
PERSON_FIRST = {"capacity declare"}


def leaves(parser, prefix=()):
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(prefix), parser
        return
    for name, p in subs[0].choices.items():
        yield from leaves(p, (*prefix, name))


def test_every_command_that_records_takes_person():
    missing = []
    for name, p in leaves(build_parser()):
        options = {o for a in p._actions for o in a.option_strings}
        if name not in READ_ONLY | PERSON_FIRST and "--person" not in options:
            missing.append(name)
    assert missing == []


def test_person_names_who_records_in_the_verbs_that_said_by(site, capsys):
    """--by (the older name) still works where it named a person; --person is the same option."""
    code, out, err = run(site, capsys, "job", "add", *RING, "--due", FUTURE, "--stone", "2 × round diamond 0.10 ct")
    code, out, err = run(site, capsys, "stones", "issue", "J000001", "--to", "ben", "--person", "farid")
    assert code == 0, err
    code, out, err = run(site, capsys, "stones", "set", "SP0001", "2", "--person", "ben")
    assert code == 0, err
    shop = open_shop(site)
    try:
        assert [e.person for e in shop.journal.events(types=["stones.issued", "stones.set"])] == ["farid", "ben"]
    finally:
        shop.close()


def test_job_import_help_runs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "job", "import", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "FILE:LINE" in r.stdout
