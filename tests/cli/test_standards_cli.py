"""`floorkiosk standards log|diff|propose|approve|move` as a workshop's admins use them, and the report's comparison."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from config_helpers import copy_example, edit  # tests/ is on the path (pytest rootdir)
from clirun import journal_count as count, run  # tests/ is on the path (pytest rootdir)
from floorkiosk.cli import main
from floorkiosk.workshop import reports, standards
from floorkiosk.workshop.site import open_shop

FUTURE = "2099-12-24"
RING = ["--route", "custom-ring", "--design", "Halo ring", "--alloy", "18KY", "--due", FUTURE]


@pytest.fixture
def site(tmp_path, capsys):
    cfg = copy_example(tmp_path / "cfg")
    edit(cfg / "people.toml", 'roles = ["supervisor"]', 'roles = ["supervisor", "admin"]')  # Eva: a second admin
    d = tmp_path / "shop"
    assert main(["--site", str(d), "init", "--config", str(cfg)]) == 0
    capsys.readouterr()
    return str(d)


def tighter(site, tmp_path) -> str:
    text = (tmp_path / "shop" / "config" / "routes.toml").read_text()
    new = tmp_path / "routes-casting-1pct.toml"
    new.write_text(text.replace("max_loss_pct = 3.0", "max_loss_pct = 1.0"))
    return str(new)


def test_propose_approve_log_and_diff(site, capsys, tmp_path):
    code, out, _ = run(site, capsys, "standards")
    assert code == 0 and "v1 in effect" in out
    code, out, err = run(site, capsys, "job", "add", *RING, "--person", "dev")
    assert code == 0, err
    code, out, err = run(site, capsys, "standards", "propose", "--file", tighter(site, tmp_path), "--why",
                         "casting loss drifting", "--person", "farid")
    assert code == 0, err
    assert "v1 recorded" in out and "v2 proposed (routes.toml" in out
    n = count(site)
    code, out, err = run(site, capsys, "standards", "approve", "2", "--person", "farid")
    assert code == 2 and err == "floorkiosk: Farid Haddad proposed v2: another admin must approve it (four eyes); " \
                                "nothing was recorded\n"
    code, out, err = run(site, capsys, "standards", "approve", "2", "--person", "chloe")
    assert code == 2 and "Chloé Martin is not an admin" in err and "Traceback" not in err
    assert count(site) == n
    code, out, err = run(site, capsys, "standards", "approve", "v2", "--person", "eva")
    assert code == 0, err
    assert "v2 approved by Eva Lindqvist" in out and "the 1 running keep theirs" in out
    code, out, _ = run(site, capsys, "job", "add", *RING, "--person", "dev")
    code, out, _ = run(site, capsys, "standards", "log")
    lines = out.splitlines()
    assert lines[0].startswith("v1  approved ") and lines[0].endswith("1 jobs")
    assert lines[1].strip().startswith("the config as it stood, recorded ")
    assert lines[2].startswith("v2  in effect") and "1 jobs  changed routes.toml of v1" in lines[2]
    assert "by Farid Haddad: casting loss drifting" in lines[3] and "by Eva Lindqvist" in lines[4]
    code, out, _ = run(site, capsys, "standards", "diff", "2")
    assert out.startswith("--- v1/routes.toml\n+++ v2/routes.toml\n") and "-max_loss_pct = 3.0\n+max_loss_pct = 1.0" in out
    code, out, _ = run(site, capsys, "standards", "diff", "1", "1")
    assert out == "v1 and v1 are the same\n"
    code, out, err = run(site, capsys, "standards", "diff", "7")
    assert code == 2 and "no standards version '7'; versions: v1, v2" in err
    code, out, _ = run(site, capsys, "job", "show", "J000001")
    assert "\nstandards: v1 (v2 in effect for new jobs)\n" in out
    code, out, err = run(site, capsys, "standards", "move", "J000001", "--to", "2", "--why", "all on 1 %",
                         "--person", "eva")
    assert code == 0 and out == "1 job moved to v2: J000001\n", err
    code, out, _ = run(site, capsys, "job", "show", "J000002")
    assert "\nstandards: v2\n" in out
    code, out, _ = run(site, capsys, "job", "show", "J000001")
    assert "moved J000001 from standards v1 to v2: all on 1 %" in out


def test_an_invalid_proposal_prints_file_and_line_and_records_nothing(site, capsys, tmp_path):
    text = (tmp_path / "shop" / "config" / "routes.toml").read_text()
    bad = tmp_path / "routes.toml"
    bad.write_text(text.replace("max_loss_pct = 3.0", "max_loss_pct = -3.0"))
    line = text[: text.index("max_loss_pct = 3.0")].count("\n") + 1
    n = count(site)
    code, out, err = run(site, capsys, "standards", "propose", "--file", str(bad), "--why", "x", "--person", "farid")
    assert code == 2 and err.splitlines()[0].startswith(f"{bad}:{line}: ") and "Traceback" not in err
    assert err.endswith("floorkiosk: the proposed standard has errors; nothing was recorded\n")
    assert count(site) == n
    code, out, err = run(site, capsys, "standards", "propose", "--file", str(tmp_path / "nowhere.toml"), "--why", "x",
                         "--person", "farid")
    assert code == 2 and "nowhere.toml:1: file is missing" in err
    assert count(site) == n


def test_the_report_compares_the_jobs_before_and_after_each_change(site, capsys, tmp_path):
    run(site, capsys, "job", "add", *RING, "--person", "dev")
    run(site, capsys, "standards", "propose", "--file", tighter(site, tmp_path), "--why", "casting loss drifting",
        "--person", "farid")
    run(site, capsys, "standards", "approve", "2", "--person", "eva")
    run(site, capsys, "job", "add", *RING, "--person", "dev")
    run(site, capsys, "job", "add", *RING, "--person", "dev")
    shop = open_shop(site)
    try:
        files = reports.write_report(shop, date(2026, 1, 1), date(2026, 12, 31), tmp_path / "out")
        assert [c.after.jobs for c in standards.compare(shop)] == [2]
    finally:
        shop.close()
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<h2>Standards: before and after each change</h2>" in page
    assert "v2 (routes.toml), approved" in page and "casting loss drifting" in page
    rows = list(csv.DictReader((tmp_path / "out" / "standards.csv").open()))
    assert tmp_path / "out" / "standards.csv" in files
    jobs = next(r for r in rows if r["figure"] == "jobs")
    assert (jobs["version"], jobs["before"], jobs["after"], jobs["changed"]) == ("2", "1", "2", "routes.toml")


def test_job_show_lists_the_route_of_the_jobs_version_until_it_is_moved(site, capsys, tmp_path):
    assert run(site, capsys, "job", "add", *RING, "--person", "dev")[0] == 0  # J000001, under v1
    text = (tmp_path / "shop" / "config" / "routes.toml").read_text()
    old = '  { stage = "wax-print" },\n  { stage = "casting" },\n'
    assert text.count(old) == 1
    new = tmp_path / "routes-wax-injection.toml"
    new.write_text(text.replace(old, '  { stage = "wax-print" },\n  { stage = "wax-injection" },\n'
                                     '  { stage = "casting" },\n'))
    assert run(site, capsys, "standards", "propose", "--file", str(new), "--why", "inject the wax",
               "--person", "farid")[0] == 0
    assert run(site, capsys, "standards", "approve", "2", "--person", "eva")[0] == 0
    assert run(site, capsys, "job", "add", *RING, "--person", "dev")[0] == 0  # J000002, under v2
    shown = {}
    for j in ("J000001", "J000002"):
        code, out, err = run(site, capsys, "job", "show", j)
        assert code == 0, err
        shown[j] = next(line for line in out.splitlines() if line.startswith("route: "))
    assert "Wax injection" not in shown["J000001"] and "Wax print: to do  Casting" in shown["J000001"]
    assert "Wax print: to do  Wax injection: to do  Casting" in shown["J000002"]
    code, out, err = run(site, capsys, "standards", "move", "J000001", "--to", "2", "--why", "inject the wax",
                         "--person", "eva")
    assert code == 0, err
    code, out, err = run(site, capsys, "job", "show", "J000001")
    assert "Wax print: to do  Wax injection: to do  Casting" in out and "standards: v2" in out
    code, out, err = run(site, capsys, "db", "rebuild")
    # the jobs fold to the same state; the flow KPIs (kpi_*) still follow the routes as the config stands
    differed = [line for line in (out + err).splitlines() if "DIFFERED from the journal in" in line]
    assert code == 0 or differed, err
    for line in differed:
        tables = line.split("DIFFERED from the journal in ", 1)[1].split(";", 1)[0].split(", ")
        assert all(t.startswith("kpi_") for t in tables), line
    code, out, _ = run(site, capsys, "job", "show", "J000001")
    assert "Wax injection: to do" in out
    code, out, _ = run(site, capsys, "job", "show", "J000002")
    assert "Wax injection: to do" in out
