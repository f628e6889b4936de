"""The Pareto of defects, charged upstream to the stage, bench and person that caused them."""

import subprocess
import sys
from decimal import Decimal

from floorkiosk.workshop import verbs
from floorkiosk.workshop import qc
from floorkiosk.domain import qc as dq

from .conftest import final_answers, new_ring, walk

D = Decimal


def test_pareto_by_hand():
    pairs = [("Polishing", "SCRATCH")] * 5 + [("Stone setting", "LOOSE-STONE")] * 3 + [("Casting", "POROSITY")] * 2
    rows = dq.pareto(pairs)
    # 5/10 = 50.0 %, 3/10 = 30.0 %, 2/10 = 20.0 %; cumulative 50.0, 80.0, 100.0
    assert [(r.key, r.defect, r.count, r.pct, r.cum_pct) for r in rows] == [
        ("Polishing", "SCRATCH", 5, D("50.0"), D("50.0")),
        ("Stone setting", "LOOSE-STONE", 3, D("30.0"), D("80.0")),
        ("Casting", "POROSITY", 2, D("20.0"), D("100.0")),
    ]
    # thirds: 33.3 % each; the running total is computed from counts, so it ends at exactly 100.0
    rows = dq.pareto([("a", "X"), ("b", "Y"), ("c", "Z")])
    assert [r.pct for r in rows] == [D("33.3")] * 3 and [r.cum_pct for r in rows] == [D("33.3"), D("66.7"), D("100.0")]
    assert dq.pareto([]) == []


def _reject(shop, job, stage, defect, by="farid"):
    verbs.reject(shop, job, by, "qc", stage, defect=defect, reason="test", redo=stage)


def test_pareto_of_the_shop_by_each_dimension(shop, clock):
    # four jobs through polishing; defects found on three different days
    a, b, c, d = (new_ring(shop, design=des) for des in ("Halo ring", "Halo ring", "Signet ring", "Eternity band"))
    for j in (a, b, c, d):
        walk(shop, j, "qc")
    _reject(shop, a, "polishing", "SCRATCH")  # Chloé polished it at Polishing & plating
    clock.advance(days=1)
    _reject(shop, b, "polishing", "SCRATCH")
    # an inspection that fails: charged to the stage it is redone at, and to whoever did that stage
    qc.record_inspection(shop, c, "farid", "qc", final_answers(shop, c, shank="1.2"), pin="1357")  # THIN-SHANK -> cleanup (Ana)
    clock.advance(days=1)
    _reject(shop, d, "stone-setting", "LOOSE-STONE")  # Ben set it at the setting bench

    by_stage = [(r.key, r.defect, r.count, r.pct, r.cum_pct) for r in qc.pareto(shop, "stage")]
    # 2 of 4 = 50.0 %; then 1 each = 25.0 %, ties in name order
    assert by_stage == [("Polishing", "SCRATCH", 2, D("50.0"), D("50.0")),
                        ("Cleanup", "THIN-SHANK", 1, D("25.0"), D("75.0")),
                        ("Stone setting", "LOOSE-STONE", 1, D("25.0"), D("100.0"))]
    assert [(r.key, r.count) for r in qc.pareto(shop, "person")] == [("Chloé Martin", 2), ("Ana Costa", 1), ("Ben Okafor", 1)]
    assert [(r.key, r.count) for r in qc.pareto(shop, "bench")] == [
        ("Polishing & plating", 2), ("Cleanup & fabrication", 1), ("Stone setting", 1)]
    assert [(r.key, r.defect, r.count) for r in qc.pareto(shop, "design")] == [
        ("Halo ring", "SCRATCH", 2), ("Eternity band", "LOOSE-STONE", 1), ("Signet ring", "THIN-SHANK", 1)]
    assert [(r.key, r.count) for r in qc.pareto(shop, "alloy")] == [("18KW", 2), ("18KW", 1), ("18KW", 1)]
    assert [(r.defect, r.count) for r in qc.pareto(shop, "defect")][0] == ("SCRATCH", 2)
    # the first day only (inclusive), then the last two days
    assert [(r.key, r.count) for r in qc.pareto(shop, "stage", "2026-11-20", "2026-11-20")] == [("Polishing", 1)]
    assert sum(r.count for r in qc.pareto(shop, "stage", "2026-11-21", "2026-11-22")) == 3


def test_pareto_cli(shop):
    j = new_ring(shop)
    walk(shop, j, "qc")
    _reject(shop, j, "polishing", "SCRATCH")
    site = str(shop.dir)
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", site, "qc", "pareto", "--by", "person"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Defects by person: 1 defect that sent pieces back"
    assert lines[2].split() == ["Chloé", "Martin", "SCRATCH", "1", "100.0", "100.0"]
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", site, "qc", "pareto", "--from", "yesterday"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "'yesterday' is not a date" in r.stderr
