"""Process control on a real site: a stage's loss as a series, its limits, alerts, and drift holding a stage."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from photofile import stored_photo  # tests/ is on the path (pytest rootdir)
from scalereading import weigh

from floorkiosk.domain import guardrails as g
from floorkiosk.errors import Refused
from floorkiosk.workshop import judge, spc, verbs

from .conftest import PHOTO, FixedClock, bench_for, walk

STEADY = ["0.50", "0.40", "0.60", "0.55", "0.45"]  # % lost at clean-up: the baseline, in control
DRIFT = ["0.55"] * 9  # nine above the centre line (all within 1 sigma): Nelson rule 2 on the ninth


def cleanup(shop, job: str, loss_pct: str) -> None:
    """Clean-up done with this loss: weigh 2.000 g in, the rest out."""
    bench = bench_for(shop.site, "cleanup")
    verbs.start(shop, job, "ana", bench, "cleanup")
    weigh(shop, job, "ana", bench, Decimal("2.000"), phase="in", stage="cleanup")
    out = Decimal("2.000") * (1 - Decimal(loss_pct) / 100)
    weigh(shop, job, "ana", bench, out.quantize(Decimal("0.001")), phase="out", stage="cleanup")
    stage = shop.site.stages["cleanup"]
    for _ in range(stage.photos_needed):
        verbs.attach_photo(shop, job, "ana", bench, PHOTO, stage="cleanup")
    verbs.finish(shop, job, "ana", bench, "cleanup", checklist=stage.checklist)


@pytest.fixture(scope="module")
def spc_template(tmp_path_factory):
    """Twenty casting-line pieces waiting for clean-up, on a site whose clean-up is held by drift."""
    from floorkiosk.workshop.site import init_site, open_shop

    root = tmp_path_factory.mktemp("spc-site") / "site"
    init_site(root, origin="test-bench")
    assert stored_photo(root / "photos") == PHOTO
    qc = root / "config" / "qc.toml"
    qc.write_text(qc.read_text().replace("baseline = 20", "baseline = 5")
                  .replace("hold_on_drift = []", 'hold_on_drift = ["cleanup"]'))
    shop = open_shop(root, clock=FixedClock())
    try:
        jobs = verbs.create_jobs(shop, [dict(route="casting-line", design="Stacking ring", alloy="14KY",
                                             due="2026-12-24", stones=[]) for _ in range(20)],
                                 person_id="dev", bench_id="design")
        for j in jobs:
            walk(shop, j, "cleanup", Decimal("2.400"))
    finally:
        shop.close()
    return root, jobs


@pytest.fixture
def site(spc_template, tmp_path):
    from floorkiosk.workshop.site import open_shop

    root, jobs = spc_template
    dst = tmp_path / "site"
    shutil.copytree(root, dst)
    shop = open_shop(dst, clock=FixedClock())
    yield shop, jobs
    shop.close()


def test_loss_series_has_limits_from_its_first_points_and_no_alert_while_steady(site):
    shop, jobs = site
    for j, loss in zip(jobs, STEADY):
        cleanup(shop, j, loss)
    c = spc.one(shop, "loss.cleanup")
    assert [round(p.value, 2) for p in c.series.points] == [float(x) for x in STEADY]
    assert c.limits is not None and round(c.limits.center, 3) == 0.5
    # MR-bar of 0.10, 0.20, 0.05, 0.10 is 0.1125; sigma = 0.1125 / 1.128
    assert c.limits.sigma == pytest.approx(0.1125 / 1.128)
    assert c.state == "in control" and c.alerts == []
    assert c.capability is not None and c.series.usl == 2.0  # clean-up's max_loss_pct
    assert c.capability.cpk == pytest.approx((2.0 - 0.5) / (3 * 0.1125 / 1.128))
    # the person behind each point: a chart for one person alone
    assert len(c.series.where(person="ana").points) == 5 and c.series.where(person="ben").points == []


def test_too_few_points_say_so(site):
    shop, jobs = site
    for j, loss in zip(jobs, STEADY[:3]):
        cleanup(shop, j, loss)
    c = spc.one(shop, "loss.cleanup")
    assert c.limits is None and c.state == "too few points" and "limits need 5" in c.note


def test_drift_raises_an_alert_and_holds_the_next_piece_until_a_supervisor_acknowledges(site):
    shop, jobs = site
    for j, loss in zip(jobs, STEADY + DRIFT[:8]):
        cleanup(shop, j, loss)
    nxt = jobs[13]
    assert spc.one(shop, "loss.cleanup").alerts == []  # eight above: no rule broken yet
    assert judge.decide(shop, g.START, nxt, "ana", bench_for(shop.site, "cleanup"), "cleanup").allowed  # allowed
    cleanup(shop, jobs[13], DRIFT[8])
    c = spc.one(shop, "loss.cleanup")
    assert [v.rule for v in c.alerts] == [2] and c.state == "1 alert"
    d = judge.decide(shop, g.START, jobs[14], "ana", bench_for(shop.site, "cleanup"), "cleanup")
    assert not d.allowed and any(r.code == "drift" and "nine points in a row" in r.text for r in d.reasons)
    with pytest.raises(judge.Blocked, match="drifting"):
        verbs.start(shop, jobs[14], "ana", bench_for(shop.site, "cleanup"), "cleanup")
    # an artisan cannot acknowledge; a supervisor must say what was done
    with pytest.raises(Refused, match="not a supervisor"):
        spc.acknowledge(shop, "loss.cleanup", "ana", "looked")
    with pytest.raises(Refused, match="--note"):
        spc.acknowledge(shop, "loss.cleanup", "eva", " ")
    assert spc.acknowledge(shop, "loss.cleanup", "eva", "new tumbling media; loss checked on the next five") == 1
    assert spc.one(shop, "loss.cleanup").alerts == []
    assert judge.decide(shop, g.START, jobs[14], "ana", bench_for(shop.site, "cleanup"), "cleanup").allowed


def test_a_fixed_baseline_keeps_its_limits_and_survives_a_rebuild(site):
    shop, jobs = site
    for j, loss in zip(jobs, STEADY + ["0.50", "0.45", "0.55"]):
        cleanup(shop, j, loss)
    with pytest.raises(Refused, match="not a supervisor"):
        spc.fix_baseline(shop, "loss.cleanup", "ana")
    b = spc.fix_baseline(shop, "loss.cleanup", "eva")
    assert b.points == 8
    before = spc.one(shop, "loss.cleanup")
    assert "fixed by" in before.baseline and before.limits == b.limits
    shop.journal.rebuild()
    after = spc.one(shop, "loss.cleanup")
    assert after.limits == b.limits and after.baseline == before.baseline


def test_a_stage_not_held_by_drift_is_not_blocked(site):
    """Drift holds only the stages qc.toml names; elsewhere the alert is shown, the work goes on."""
    shop, jobs = site
    for j, loss in zip(jobs, STEADY + DRIFT):
        cleanup(shop, j, loss)
    assert spc.one(shop, "loss.cleanup").alerts
    # casting is not in hold_on_drift: its next piece starts whatever the clean-up chart says
    assert spc.guard(shop, shop.journal.conn, shop.job(jobs[15]), g.Action(g.START, "casting")) == []


def test_the_spc_commands_list_draw_fix_and_acknowledge(site, capsys):
    from floorkiosk.cli import main

    shop, jobs = site
    for j, loss in zip(jobs, STEADY + DRIFT):
        cleanup(shop, j, loss)
    root = str(shop.dir)
    assert main(["--site", root, "spc"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("loss.cleanup"))
    assert "14" in line and "1 alert" in line and "0.500" in line
    assert "1 open alert" in out

    assert main(["--site", root, "spc", "show", "loss.cleanup"]) == 0
    out = capsys.readouterr().out
    assert "metal loss at Cleanup" in out and "UCL" in out and "Cpk" in out
    assert "rule 2, nine points in a row" in out and "[ALERT]" in out
    assert len(out.splitlines()) > 16  # the chart itself

    assert main(["--site", root, "spc", "show", "loss.cleanup", "--person", "ben"]) == 0
    assert "0 points" in capsys.readouterr().out

    assert main(["--site", root, "spc", "show", "loss.nowhere"]) == 2
    assert "no characteristic 'loss.nowhere'" in capsys.readouterr().err

    assert main(["--site", root, "board", "--all"]) == 0
    out = capsys.readouterr().out
    assert "DRIFT metal loss at Cleanup: nine points in a row" in out
    from floorkiosk.kiosk.board import lane_text
    from floorkiosk.workshop import kpi

    lane = next(ln for ln in kpi.board(shop).lanes if ln.stage == "cleanup")
    assert "DRIFT  loss.cleanup" in lane_text(lane, ["loss.cleanup"]).plain
    assert "DRIFT" not in lane_text(lane).plain

    assert main(["--site", root, "spc", "ack", "loss.cleanup", "--person", "ana", "--note", "x"]) == 2
    assert "not a supervisor" in capsys.readouterr().err
    assert main(["--site", root, "spc", "ack", "loss.cleanup", "--person", "eva", "--note", "media changed"]) == 0
    assert "1 alert acknowledged" in capsys.readouterr().out
    assert main(["--site", root, "spc", "baseline", "loss.cleanup", "--person", "eva", "--last", "9"]) == 2
    assert "do not vary" in capsys.readouterr().err  # the nine drifted points alone are all 0.55 %
    assert main(["--site", root, "spc", "baseline", "loss.cleanup", "--person", "eva"]) == 0
    assert "limits fixed on 14 points" in capsys.readouterr().out
    assert main(["--site", root, "spc"]) == 0
    assert "in control" in capsys.readouterr().out
    assert main(["--site", root, "board", "--all"]) == 0
    assert "DRIFT" not in capsys.readouterr().out


def test_a_corrective_action_closes_only_once_its_effect_shows(site, capsys):
    from floorkiosk.cli import main
    from floorkiosk.workshop import capa

    shop, jobs = site
    for j, loss in zip(jobs, STEADY + DRIFT):
        cleanup(shop, j, loss)
    root = str(shop.dir)
    # refused: an artisan opening, an unknown characteristic, a passed due date, an unknown cause
    with pytest.raises(Refused, match="not a supervisor"):
        capa.open_capa(shop, "loss up", person_id="ana", owner="ana", due="2027-01-15", characteristic="loss.cleanup")
    assert main(["--site", root, "capa", "open", "x", "--person", "eva", "--owner", "ana", "--due", "2027-01-15",
                 "--characteristic", "loss.nowhere"]) == 2
    assert "no characteristic 'loss.nowhere'" in capsys.readouterr().err
    assert main(["--site", root, "capa", "open", "x", "--person", "eva", "--owner", "ana", "--due", "2020-01-01"]) == 2
    assert "has passed" in capsys.readouterr().err
    assert main(["--site", root, "capa", "list"]) == 0 and "no corrective actions open" in capsys.readouterr().out

    assert main(["--site", root, "capa", "open", "clean-up loss creeping up", "--person", "eva", "--owner", "ana",
                 "--due", "2027-01-15", "--characteristic", "loss.cleanup", "--pieces", "3"]) == 0
    assert "CA0001 opened" in capsys.readouterr().out
    with pytest.raises(Refused, match="no change recorded"):
        capa.close_capa(shop, "CA0001", person_id="eva", note="fine")
    with pytest.raises(Refused, match="root cause must be one of"):
        capa.record_change(shop, "CA0001", person_id="ana", cause="gremlins", change="x")
    with pytest.raises(Refused, match="neither the owner"):
        capa.record_change(shop, "CA0001", person_id="ben", cause="machine", change="x")
    capa.record_change(shop, "CA0001", person_id="ana", cause="machine", change="tumbler media replaced")
    spc.acknowledge(shop, "loss.cleanup", "eva", "CA0001 opened")  # the held stage runs again
    cleanup(shop, jobs[14], "0.40")
    with pytest.raises(Refused, match="cannot close yet: .*1 of 3 pieces"):
        capa.close_capa(shop, "CA0001", person_id="eva", note="better")
    cleanup(shop, jobs[15], "0.45")
    cleanup(shop, jobs[16], "0.40")
    with pytest.raises(Refused, match="not a supervisor"):
        capa.close_capa(shop, "CA0001", person_id="ana", note="better")
    assert main(["--site", root, "capa", "close", "CA0001", "--person", "eva", "--note", "loss back to 0.42 %"]) == 0
    out = capsys.readouterr().out
    assert "CA0001 closed: mean of loss.cleanup" in out
    c = capa.get(shop, "1")
    assert c.status == "closed" and c.effect["n_after"] == 3
    assert c.effect["after"] == pytest.approx((0.40 + 0.45 + 0.40) / 3)
    assert c.effect["before"] > c.effect["after"]
    shop.journal.rebuild()
    assert capa.get(shop, "CA0001") == c
    assert main(["--site", root, "capa", "show", "CA0001"]) == 0
    out = capsys.readouterr().out
    assert "cause: machine" in out and "tumbler media replaced" in out and "closed" in out


def test_the_report_shows_each_characteristic_and_charts_its_alerts(site, tmp_path):
    from datetime import date

    from floorkiosk.workshop import reports

    shop, jobs = site
    for j, loss in zip(jobs, STEADY + DRIFT):
        cleanup(shop, j, loss)
    files = reports.write_report(shop, date(2026, 11, 1), date(2026, 11, 30), tmp_path / "out")
    page = next(f for f in files if f.name == "report.html").read_text()
    section = page[page.index("<h2>Process control</h2>"):]
    assert "loss.cleanup" in section and "1 alert" in section
    chart = section[section.index("<svg"):section.index("</svg>")]
    assert "metal loss at Cleanup (%): 1 alert" in chart
    assert chart.count("<circle") == 1  # the one point that broke a rule, marked
    assert chart.count("<line") == 3  # UCL, centre, LCL
