"""Stone parcels: issued to a setter, set / returned / broken / lost, and discrepancies at the end of setting."""

import subprocess
import sys
from decimal import Decimal

import pytest

from floorkiosk.workshop import cards
from floorkiosk.workshop import qc
from floorkiosk.domain import stones as ds
from floorkiosk.errors import Refused

from .conftest import do_stage

D = Decimal


def parcel(issued=18, ct="0.360", **moves) -> ds.Parcel:
    p = ds.Parcel("SP0001", "J000001", 2, "diamond", "round", "", "ben", issued, D(ct))
    for m, (n, c) in moves.items():
        p.n[m], p.ct[m] = n, D(c)
    return p


def test_balance_by_hand():
    # 18 issued (0.360 ct): 16 set (0.320) + 1 returned (0.020) = 17 -> 1 stone, 0.020 ct missing
    p = parcel(set=(16, "0.320"), returned=(1, "0.020"))
    assert (p.accounted_n, p.missing_n, p.missing_ct) == (17, 1, D("0.020"))
    assert p.status() == ds.OPEN  # setting not finished: the stone is still on the setter's bench
    p.setting_done = True
    assert p.status() == ds.DISCREPANCY
    assert p.problem() == ("1 stone (0.020 ct) not accounted for: 18 issued (0.360 ct): "
                           "16 set, 1 returned, 0 broken, 0 lost (0.340 ct)")
    p.n["lost"], p.ct["lost"] = 1, D("0.020")
    assert p.status() == ds.BALANCED and p.problem() == ""


def test_carat_weight_must_balance_too():
    # counts balance (17 + 1 = 18) but 0.320 + 0.010 = 0.330 ct of 0.360: 0.030 ct apart, tolerance 0.01
    p = parcel(set=(17, "0.320"), returned=(1, "0.010"))
    p.setting_done = True
    assert p.status(D("0.01")) == ds.DISCREPANCY and "carat weight differs by 0.030 ct" in p.problem(D("0.01"))
    # 0.355 of 0.360 ct: 0.005 ct apart is within the scale's noise
    p.ct["returned"] = D("0.035")
    assert p.status(D("0.01")) == ds.BALANCED


def test_estimates_and_refusals():
    assert ds.estimate_ct(18, D("0.360"), 16) == D("0.320")  # 0.36 / 18 = 0.02 ct a stone
    assert ds.estimate_ct(3, D("1.00"), 1) == D("0.333")
    p = parcel(set=(16, "0.320"))
    ds.check_move(p, "returned", 2)  # 16 + 2 = 18: fine
    with pytest.raises(Refused, match="18 issued and 16 already accounted for; 3 more set would make 19"):
        ds.check_move(p, "set", 3)
    with pytest.raises(Refused, match="unknown stone move"):
        ds.check_move(p, "swallowed", 1)
    with pytest.raises(Refused, match="not a whole number"):
        ds.parse_count("two")
    with pytest.raises(Refused, match="not a number"):
        ds.parse_ct("heavy")


@pytest.fixture
def ring(qshop):
    return qshop[1]["setting"]  # a ring with two stone lines, ready for stone setting


def test_issue_shows_the_certificate_on_the_card(shop, ring):
    e = qc.issue_stones(shop, ring, "farid", "ben", line=1)
    assert e.payload["parcel"] == "SP0001" and e.payload["setter"] == "ben"
    assert (e.payload["count"], e.payload["ct"], e.payload["cert"]) == (1, "1.020", "GIA 2141438171")
    card = cards.job_card(shop, ring)
    assert card.history[-1].text == ("Farid Haddad issued stone parcel SP0001 to Ben Okafor: "
                                     "1 round diamond, 1.020 ct (GIA 2141438171)")
    assert card.job.stones[0]["cert"] == "GIA 2141438171"
    # a second parcel gets the next number
    assert qc.issue_stones(shop, ring, "farid", "ben", line=2).payload["parcel"] == "SP0002"
    assert qc.parcel_fields(shop, "SP0001")["payload"] == "FK:S:SP0001"


@pytest.mark.parametrize("who,setter,kw,says", [
    ("ben", "ben", {}, "Ben Okafor is not a supervisor"),
    ("farid", "chloe", {}, "Chloé Martin does not have the setting skill"),
    ("farid", "ben", {"line": 3}, "has stone lines 1 to 2, not 3"),
    ("farid", "ben", {"count": "0"}, "at least 1 stone"),
    ("farid", "ben", {"ct": "-1"}, "0 or more carats"),
])
def test_bad_issues_are_refused_and_record_nothing(shop, ring, who, setter, kw, says):
    before = shop.journal.count()
    with pytest.raises(Refused, match=says):
        qc.issue_stones(shop, ring, who, setter, **kw)
    assert shop.journal.count() == before


def test_moves_are_checked_against_the_parcel(shop, ring):
    qc.issue_stones(shop, ring, "farid", "ben", line=2)
    qc.move_stones(shop, ring, "set", 16, "ben")  # by job: its one open parcel
    before = shop.journal.count()
    with pytest.raises(Refused, match="3 more set would make 19"):
        qc.move_stones(shop, "SP0001", "set", 3, "ben")
    with pytest.raises(Refused, match="they or a supervisor record its stones"):
        qc.move_stones(shop, "SP0001", "returned", 1, "chloe")
    assert shop.journal.count() == before
    qc.move_stones(shop, "sp0001", "returned", 1, "eva", ct="0.021")  # a supervisor weighed the returned stone
    p = qc.parcel(shop, "SP0001")
    assert (p.n["set"], p.ct["set"], p.n["returned"], p.ct["returned"]) == (16, D("0.320"), 1, D("0.021"))


def test_a_discrepancy_at_the_end_of_setting_is_flagged(shop, ring, tmp_path):
    qc.issue_stones(shop, ring, "farid", "ben", line=2)
    qc.move_stones(shop, ring, "set", 17, "ben")
    assert qc.stone_check(shop) == []  # still setting: open, not a discrepancy
    do_stage(shop, ring, "stone-setting", D("4.96"), verify_by="")
    problems = qc.stone_check(shop)
    assert [(sp.parcel.id, sp.flagged) for sp in problems] == [("SP0001", False)]
    assert problems[0].problem.startswith("1 stone (0.020 ct) not accounted for")
    # the QC station's verification of the setting records it on the job's history
    qc.record_inspection(shop, ring, "eva", "qc", {"weight": shop.job(ring).last_weight, "secure": "p",
                                                  "alignment": "1", "stone-condition": "p"}, pin="2468")
    texts = [h.text for h in cards.job_card(shop, ring, history=30).history]
    assert "STONE DISCREPANCY in parcel SP0001: 1 stone (0.020 ct) not accounted for: 18 issued (0.360 ct): " \
           "17 set, 0 returned, 0 broken, 0 lost (0.340 ct)" in texts
    assert qc.stone_check(shop)[0].flagged
    # the setter finds the stone was lost: the parcel balances and the check is clean
    qc.move_stones(shop, ring, "lost", 1, "ben", note="flew from the tweezers")
    assert qc.stone_check(shop) == []


def test_a_late_move_that_leaves_the_parcel_short_flags_it(shop, ring):
    qc.issue_stones(shop, ring, "farid", "ben", line=2)
    do_stage(shop, ring, "stone-setting", D("4.96"), verify_by="")
    evs = qc.move_stones(shop, ring, "set", 16, "ben")
    assert [e.type for e in evs] == ["stones.set", "stones.discrepancy"]
    assert evs[1].payload["missing"] == 2


def test_stones_cli(shop, ring):
    site = str(shop.dir)
    run = lambda *a: subprocess.run([sys.executable, "-m", "floorkiosk", "--site", site, *a],  # noqa: E731
                                    capture_output=True, text=True)
    r = run("stones", "issue", ring, "--to", "ben", "--by", "farid", "--line", "2")
    assert r.returncode == 0 and r.stdout.startswith("SP0001: ") and "18 round diamond" in r.stdout
    r = run("stones", "set", "SP0001", "17", "--by", "ben")
    assert r.returncode == 0 and "17 set" in r.stdout
    r = run("stones", "set", "SP0001", "two", "--by", "ben")
    assert r.returncode == 2 and "'two' is not a whole number" in r.stderr
    r = run("stones", "show", ring)
    assert "line 1: 1 round diamond, 1.020 ct (GIA 2141438171)" in r.stdout and "SP0001" in r.stdout
    assert "OPEN" in r.stdout
    do_stage(shop, ring, "stone-setting", D("4.96"), verify_by="")
    r = run("stones", "check")
    assert r.returncode == 1 and "DISCREPANCY SP0001" in r.stdout and "--flag" in r.stdout
    r = run("stones", "check", "--flag", "--by", "farid")
    assert r.returncode == 1 and f"flagged on {ring}" in r.stdout
    assert "STONE DISCREPANCY" in cards.job_card(shop, ring).history[-1].text
    r = run("stones", "broken", "SP0001", "1", "--by", "ben")
    assert r.returncode == 0
    r = run("stones", "check")
    assert r.returncode == 0 and "every stone parcel balances" in r.stdout
