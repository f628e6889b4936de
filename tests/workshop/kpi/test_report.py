"""`floorkiosk report`: CSV files and one self-contained HTML page with inline SVG charts; `board` and `delay`."""

import csv
import re
from datetime import date

import pytest

from floorkiosk.cli import main
from floorkiosk.workshop.reports import svg_columns, svg_hbars

from .conftest import week_of_five


def rows(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_report_writes_csv_and_one_self_contained_html(small, tmp_path, capsys):
    five = week_of_five(small)
    small.close()
    out = tmp_path / "report"
    site = str(small.dir)
    assert main(["--site", site, "report", "--from", "2026-11-16", "--to", "2026-11-20", "-o", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"summary.csv", "yvr.csv", "ftrr.csv", "cdpa.csv", "promises.csv", "wip.csv", "stage_flow.csv",
            "throughput.csv", "at_risk.csv", "trees.csv", "metal_reconciliation.csv", "metal_balances.csv",
            "report.html"} <= names
    ftrr = {(r["by"], r["key"]): r for r in rows(out / "ftrr.csv")}
    assert (ftrr[("stage", "setting")]["first_time_right"], ftrr[("stage", "setting")]["completed"],
            ftrr[("stage", "setting")]["ftrr_pct"]) == ("1", "2", "50.0")
    assert ftrr[("all", "all jobs")]["ftrr_pct"] == "66.7"
    (cdpa,) = rows(out / "cdpa.csv")
    assert (cdpa["promised"], cdpa["on_time"], cdpa["cdpa_pct"], cdpa["client_initiated_delays"]) == ("3", "1", "33.3", "1")
    promises = {r["job"]: r["counted_as"] for r in rows(out / "promises.csv")}
    assert promises == {five["J1"]: "on time", five["J2"]: "late", five["J3"]: "excluded: client-initiated delay",
                        five["J4"]: "missed (not delivered)"}
    assert [r["jobs_delivered"] for r in rows(out / "throughput.csv")] == ["0", "1", "1", "0", "1"]

    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 4
    # nothing to fetch: no scripts, stylesheets, images or fonts from elsewhere
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg")
    assert "Client Delivery Promise Adherence" in page and "33.3" in page


def test_report_headline_and_bad_dates(small, capsys):
    week_of_five(small)
    small.close()
    site = str(small.dir)
    assert main(["--site", site, "report", "--from", "2026-11-16", "--to", "2026-11-20"]) == 0
    out = capsys.readouterr().out
    assert "FTRR (jobs)          66.7% of 3 jobs completed" in out
    assert "CDPA                 33.3% of 3 promised deliveries (1 client-initiated delays excluded)" in out
    assert main(["--site", site, "report", "--from", "16/11/2026"]) == 2
    assert "'16/11/2026' is not a date like 2026-11-30" in capsys.readouterr().err


def test_board_and_delay_commands(small, capsys):
    five = week_of_five(small)
    small.close()
    site = str(small.dir)
    assert main(["--site", site, "board"]) == 0
    out = capsys.readouterr().out
    # the command runs on the wall clock: ages and what is late by now vary, the pieces do not
    assert out.startswith("2 jobs on the floor")
    assert "Stone setting: 2 (1 waiting, 1 working, 0 to verify" in out
    assert re.search(rf"  {five['J4']}  in progress +[0-9.]+ d  due 2026-11-18  LATE  Eternity band", out)
    # the command runs on the wall clock: J5's promise of the 21st may have passed by now (then it takes a
    # supervisor) or not
    late = date.today() > date(2026, 11, 21)
    sup = ["--supervisor", "B2001"] if late else []
    assert main(["--site", site, "delay", five["J5"], "--by", "client", "--new-due", "2099-12-05",
                 "--reason", "client travelling", "--person", "dev", *sup]) == 0
    out = capsys.readouterr().out
    if late:
        assert "due 2026-11-21 -> 2099-12-05 (client-initiated" in out and "late, then relabelled" in out
    else:
        assert "due 2026-11-21 -> 2099-12-05 (client-initiated); excluded from CDPA" in out
    assert main(["--site", site, "delay", five["J5"], "--by", "client", "--new-due", "soon", "--reason", "x",
                 "--person", "dev"]) == 2
    with pytest.raises(SystemExit):  # who records it is required
        main(["--site", site, "delay", five["J5"], "--by", "shop", "--new-due", "2099-12-24", "--reason", "x"])


def test_svg_charts_are_plain_svg():
    bars = svg_hbars("FTRR by stage (%)", [("Setting", 50.0, "50.0%"), ("Polishing <&>", 100.0, "100.0%")], top=100)
    assert bars.startswith("<svg") and bars.endswith("</svg>") and "Polishing &lt;&amp;&gt;" in bars
    # the full-scale bar is the full width of the plot area (640 - 170 - 110 = 360 px), half of it half
    assert 'width="180.0"' in bars and 'width="360.0"' in bars
    assert "no data" in svg_hbars("Empty", [])
    cols = svg_columns("Delivered", [("11-16", 0.0), ("11-17", 2.0)])
    assert cols.count("<rect") == 2
