"""X̄-R charts for a characteristic measured on several pieces of each batch: one subgroup per batch."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scalereading import weigh  # tests/ is on the path (pytest rootdir)

from floorkiosk.workshop import spc, verbs

from .conftest import PHOTO, FixedClock, bench_for, casting_batch

# % lost at clean-up by the three pieces of each batch: five steady batches, then one that drifted
BATCHES = [["0.50", "0.40", "0.60"], ["0.45", "0.55", "0.50"], ["0.60", "0.50", "0.40"], ["0.40", "0.50", "0.45"],
           ["0.55", "0.60", "0.50"], ["0.90", "0.95", "0.85"]]


def cleanup(shop, job: str, loss_pct: str) -> None:
    bench = bench_for(shop.site, "cleanup")
    verbs.start(shop, job, "ana", bench, "cleanup")
    weigh(shop, job, "ana", bench, Decimal("2.000"), phase="in", stage="cleanup")
    weigh(shop, job, "ana", bench, (Decimal("2.000") * (1 - Decimal(loss_pct) / 100)).quantize(Decimal("0.001")),
          phase="out", stage="cleanup")
    stage = shop.site.stages["cleanup"]
    for _ in range(stage.photos_needed):
        verbs.attach_photo(shop, job, "ana", bench, PHOTO, stage="cleanup")
    verbs.finish(shop, job, "ana", bench, "cleanup", checklist=stage.checklist)


@pytest.fixture
def batched(tmp_path):
    from photofile import stored_photo

    from floorkiosk.workshop.site import init_site, open_shop

    root = init_site(tmp_path / "site", origin="test-bench")
    assert stored_photo(root / "photos") == PHOTO
    qc = root / "config" / "qc.toml"
    qc.write_text(qc.read_text().replace("baseline = 20", "baseline = 5"))
    shop = open_shop(root, clock=FixedClock())
    batches = [casting_batch(shop, 3, until="cleanup") for _ in BATCHES]
    yield shop, batches
    shop.close()


def test_a_batched_characteristic_gets_an_xbar_r_chart_and_a_drifted_batch_breaks_rule_1(batched, capsys):
    from floorkiosk.cli import main

    shop, batches = batched
    for (bid, jobs), losses in zip(batches[:5], BATCHES):
        for j, loss in zip(jobs, losses):
            cleanup(shop, j, loss)
    x = spc.xbar_charts(shop)["loss.cleanup"]
    assert (x.size, len(x.means), x.left_out) == (3, 5, 0)
    # by hand: grand mean 0.5, R̄ = (0.2 + 0.1 + 0.2 + 0.1 + 0.1) / 5 = 0.14, A2 = 1.023, D4 = 2.574 (n = 3)
    assert x.limits.center == pytest.approx(0.5) and x.limits.r_center == pytest.approx(0.14)
    assert x.limits.ucl == pytest.approx(0.5 + 1.023 * 0.14) and x.limits.r_ucl == pytest.approx(2.574 * 0.14)
    assert x.state == "in control" and x.capability is not None
    bid, jobs = batches[5]
    for j, loss in zip(jobs, BATCHES[5]):
        cleanup(shop, j, loss)
    x = spc.xbar_charts(shop)["loss.cleanup"]
    assert [(v.rule, x.batches[v.index]) for v in x.violations] == [(1, bid)]
    assert x.state == "1 rule broken"

    root = str(shop.dir)
    assert main(["--site", root, "spc"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["CHARACTERISTIC", "CHART", "POINTS"]
    line = next(ln for ln in out.splitlines() if ln.startswith("loss.cleanup") and "X̄-R n=3" in ln)
    assert line.split()[3] == "6" and "1 rule broken" in line
    assert any(ln.startswith("loss.cleanup") and "I-MR" in ln for ln in out.splitlines())
    assert main(["--site", root, "spc", "show", "loss.cleanup"]) == 0
    out = capsys.readouterr().out
    assert "X̄-R by batch: 6 batches of 3 pieces" in out
    assert f"batch {bid}: X̄ 0.900, rule 1" in out and "(limits from the first 5 batches)" in out


def test_a_characteristic_not_measured_in_batches_has_no_xbar_chart(batched):
    shop, batches = batched
    bid, jobs = batches[0]
    cleanup(shop, jobs[0], "0.5")  # one piece of a batch: no subgroup
    assert "loss.cleanup" not in spc.xbar_charts(shop)
    cleanup(shop, jobs[1], "0.4")  # two: a subgroup, too few for limits
    x = spc.xbar_charts(shop)["loss.cleanup"]
    assert x.limits is None and x.state == "too few batches" and "limits need 5" in x.note


def test_subgroups_take_the_commonest_size_and_leave_out_smaller_batches():
    rows = [("B1", 1.0, 0), ("B1", 2.0, 1), ("B1", 3.0, 2), ("B2", 1.0, 3), ("B2", 1.5, 4), ("B2", 2.0, 5),
            ("B3", 4.0, 6), ("B3", 5.0, 7), ("B4", 1.0, 8), ("B4", 2.0, 9), ("B4", 3.0, 10), ("B4", 9.0, 11),
            (None, 7.0, 12)]
    n, groups, left = spc.batch_subgroups(rows)
    assert n == 3 and left == 1
    assert [(b, v) for b, v, _ in groups] == [("B1", [1.0, 2.0, 3.0]), ("B2", [1.0, 1.5, 2.0]), ("B4", [1.0, 2.0, 3.0])]


def test_the_report_lists_the_xbar_r_chart_beside_the_individuals_chart(batched, tmp_path):
    from datetime import date

    from floorkiosk.workshop import reports

    shop, batches = batched
    for (bid, jobs), losses in zip(batches, BATCHES):
        for j, loss in zip(jobs, losses):
            cleanup(shop, j, loss)
    files = reports.write_report(shop, date(2026, 11, 1), date(2026, 11, 30), tmp_path / "out")
    page = next(f for f in files if f.name == "report.html").read_text()
    section = page[page.index("<h2>Process control</h2>"):]
    head = "<tr><td>loss.cleanup</td><td>metal loss at Cleanup</td><td>X̄-R, 3 a batch</td>"
    row = section[section.index(head):section.index("</tr>", section.index(head))]
    assert row.endswith("<td>6</td><td>0.500</td><td>0.357</td><td>0.643</td><td>6.05</td><td>1 rule broken</td>")
