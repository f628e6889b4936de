"""Guardrails, pure: each rule answers blocked with its reason and allowed once it is met."""

from decimal import Decimal

import pytest

from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain.state import apply


class Job:
    """Builds a job's state by folding events, as the journal would."""

    def __init__(self, site, route="custom-ring"):
        self.site = site
        self.needs_verify = {s.id: s.verify for s in site.stages.values()}
        self.state = apply(None, ev.Event(ev.JOB_CREATED, "J000001", "dev", "design",
                                          {"route": route, "design": "Ring", "alloy": "18KY", "due": "2026-12-24"}),
                           site.routes, self.needs_verify)

    def do(self, type_, person, bench, **payload):
        self.state = apply(self.state, ev.Event(type_, "J000001", person, bench, payload), self.site.routes, self.needs_verify)
        return self

    def complete(self, stage, person, bench, photo=True):
        s = self.site.stages[stage]
        self.do(ev.STAGE_STARTED, person, bench, stage=stage)
        if s.needs("weigh-in"):
            self.do(ev.WEIGHT_RECORDED, person, bench, stage=stage, phase="in", grams="10.0")
        if s.needs("weigh-out"):
            self.do(ev.WEIGHT_RECORDED, person, bench, stage=stage, phase="out", grams="9.99")
        for _ in range(s.photos_needed if photo else 0):
            self.do(ev.PHOTO_ATTACHED, person, bench, stage=stage, sha256="a" * 64)
        return self.do(ev.STAGE_FINISHED, person, bench, stage=stage, checklist=list(s.checklist))

    def check(self, kind, stage, person, bench, **kw):
        return g.check(self.site, self.state, g.Action(kind, stage, **kw), self.site.people[person], self.site.benches[bench])


def up_to_setting(site):
    j = Job(site)
    for stage, who, bench in [("consultation", "dev", "design"), ("cad-approval", "dev", "design"),
                              ("wax-print", "dev", "design"), ("casting", "ana", "casting"), ("cleanup", "ana", "cleanup")]:
        j.complete(stage, who, bench)
    return j


def codes(decision):
    return [r.code for r in decision.reasons]


def test_prerequisite_not_done_blocks_then_allows(site):
    j = Job(site)
    d = j.check(g.START, "cad-approval", "dev", "design")
    assert not d.allowed and codes(d) == ["prerequisite"]
    assert "Consultation is not done yet" in d.reasons[0].text and "finish Consultation" in d.reasons[0].unblock
    j.complete("consultation", "dev", "design")
    assert j.check(g.START, "cad-approval", "dev", "design").allowed


def test_polishing_blocked_until_setting_complete_and_verified_with_photo(site):
    j = up_to_setting(site)
    d = j.check(g.START, "polishing", "chloe", "polishing")
    assert codes(d) == ["prerequisite"]
    assert "Stone setting is not complete and verified" in d.reasons[0].text
    assert "with a photo" in d.reasons[0].unblock and "different person" in d.reasons[0].unblock

    j.complete("stone-setting", "ben", "setting")
    d = j.check(g.START, "polishing", "chloe", "polishing")
    assert codes(d) == ["verification"]
    assert "complete but not verified" in d.reasons[0].text and "other than Ben Okafor" in d.reasons[0].unblock

    j.do(ev.STAGE_VERIFIED, "eva", "qc", stage="stone-setting")
    assert j.check(g.START, "polishing", "chloe", "polishing").allowed


def test_verification_needs_the_photo(site):
    j = up_to_setting(site)
    j.complete("stone-setting", "ben", "setting", photo=False)  # finished without its photo (overridden, say)
    d = j.check(g.VERIFY, "stone-setting", "eva", "qc")
    assert "evidence" in codes(d) and any("photo" in r.text for r in d.reasons)
    j.do(ev.PHOTO_ATTACHED, "ben", "setting", stage="stone-setting", sha256="b" * 64)
    assert j.check(g.VERIFY, "stone-setting", "eva", "qc").allowed


def test_missing_evidence_blocks_finish(site):
    j = up_to_setting(site)
    j.do(ev.STAGE_STARTED, "ben", "setting", stage="stone-setting")
    checklist = site.stages["stone-setting"].checklist
    d = j.check(g.FINISH, "stone-setting", "ben", "setting", checklist=checklist)
    texts = " | ".join(r.text for r in d.reasons)
    assert "no weigh-in" in texts and "no weigh-out" in texts and "needs 1 photo, has 0" in texts
    j.do(ev.WEIGHT_RECORDED, "ben", "setting", stage="stone-setting", phase="in", grams="5")
    j.do(ev.WEIGHT_RECORDED, "ben", "setting", stage="stone-setting", phase="out", grams="4.99")
    j.do(ev.PHOTO_ATTACHED, "ben", "setting", stage="stone-setting", sha256="c" * 64)
    d = j.check(g.FINISH, "stone-setting", "ben", "setting", checklist=checklist[:1])
    assert codes(d) == ["checklist"] and "stone count matches the bag" in d.reasons[0].text
    assert j.check(g.FINISH, "stone-setting", "ben", "setting", checklist=checklist).allowed


def test_four_eyes(site):
    j = up_to_setting(site)
    j.complete("stone-setting", "eva", "setting")  # a supervisor who also sets stones
    d = j.check(g.VERIFY, "stone-setting", "eva", "qc")
    assert codes(d) == ["four-eyes"] and "another person" in d.reasons[0].text
    assert j.check(g.VERIFY, "stone-setting", "farid", "qc").allowed


def test_role_needed_to_verify(site):
    j = up_to_setting(site)
    j.complete("stone-setting", "ben", "setting")
    d = j.check(g.VERIFY, "stone-setting", "chloe", "qc")
    assert codes(d) == ["role"]
    assert j.check(g.VERIFY, "stone-setting", "eva", "qc").allowed


def test_skill_needed(site):
    j = up_to_setting(site)
    d = j.check(g.START, "stone-setting", "ana", "setting")
    assert codes(d) == ["skill"] and "setting skill" in d.reasons[0].text
    assert j.check(g.START, "stone-setting", "ben", "setting").allowed


def test_bench_must_serve_the_stage(site):
    j = up_to_setting(site)
    d = j.check(g.START, "stone-setting", "ben", "polishing")
    assert codes(d) == ["bench"] and "Stone setting" in d.reasons[0].unblock
    assert j.check(g.START, "stone-setting", "ben", "setting").allowed


def test_verify_only_at_qc_station_or_the_stage_bench(site):
    j = up_to_setting(site)
    j.complete("stone-setting", "ben", "setting")
    assert codes(j.check(g.VERIFY, "stone-setting", "eva", "casting")) == ["bench"]
    assert j.check(g.VERIFY, "stone-setting", "eva", "qc").allowed


def test_job_on_hold_blocks_work_and_release_needs_a_supervisor(site):
    j = up_to_setting(site)
    j.do(ev.JOB_HELD, "ben", "setting", reason="client called to change the stone")
    d = j.check(g.START, "stone-setting", "ben", "setting")
    assert codes(d) == ["on-hold"] and "client called" in d.reasons[0].text and not d.overridable
    assert codes(j.check(g.RELEASE, None, "ben", "setting")) == ["role"]
    assert j.check(g.RELEASE, None, "eva", "setting").allowed
    j.do(ev.JOB_RELEASED, "eva", "setting")
    assert j.check(g.START, "stone-setting", "ben", "setting").allowed
    assert codes(j.check(g.RELEASE, None, "eva", "setting")) == ["not-on-hold"]


def test_weight_loss_beyond_tolerance(site):
    casting = site.stages["casting"]  # 3 % tolerance
    assert not g.weight_loss(casting, Decimal("10.00"), Decimal("9.71")).beyond
    loss = g.weight_loss(casting, Decimal("10.00"), Decimal("9.60"))
    assert loss.beyond and loss.pct == Decimal("4.00") and loss.grams == Decimal("0.40")
    # a difference below the scale's readability is noise, not loss
    tiny = site.stages["stone-setting"]  # 1 %
    assert not g.weight_loss(tiny, Decimal("0.50"), Decimal("0.49"), readability=Decimal("0.01")).beyond
    assert g.weight_loss(tiny, Decimal("0.50"), Decimal("0.49"), readability=Decimal("0.001")).beyond


def test_rework_stage_can_start_again(site):
    j = up_to_setting(site)
    j.complete("stone-setting", "ben", "setting")
    assert codes(j.check(g.START, "stone-setting", "ben", "setting")) == ["state"]
    j.do(ev.STAGE_REJECTED, "eva", "qc", stage="stone-setting", defect="LOOSE-STONE", reason="stone moves")
    st = j.state.stage("stone-setting")
    assert st.status == "rework" and st.reworks == 1
    assert j.check(g.START, "stone-setting", "ben", "setting").allowed
    assert codes(j.check(g.START, "polishing", "chloe", "polishing")) == ["prerequisite"]


def test_state_reasons_cannot_be_overridden_but_guardrails_can(site):
    j = up_to_setting(site)
    d = j.check(g.FINISH, "stone-setting", "ben", "setting")
    assert not d.overridable  # it was never started
    j.complete("stone-setting", "ben", "setting")
    assert j.check(g.START, "polishing", "chloe", "polishing").overridable


@pytest.mark.parametrize("route,stage,after", [("fabrication", "polishing", ["stone-setting", "engraving"])])
def test_parallel_branches_need_every_prerequisite(site, route, stage, after):
    j = Job(site, route)
    j.complete("fabrication", "ana", "cleanup").complete("cleanup", "ana", "cleanup")
    # setting and engraving can both start after cleanup
    assert j.check(g.START, "engraving", "ben", "setting").allowed
    assert j.check(g.START, "stone-setting", "ben", "setting").allowed
    j.complete("engraving", "ben", "setting")
    d = j.check(g.START, stage, "chloe", "polishing")
    assert [r.code for r in d.reasons] == ["prerequisite"] and "Stone setting" in d.reasons[0].text
    j.complete("stone-setting", "ben", "setting").do(ev.STAGE_VERIFIED, "eva", "qc", stage="stone-setting")
    assert j.check(g.START, stage, "chloe", "polishing").allowed


def test_domain_imports_no_io_libraries():
    import subprocess
    import sys

    # every module of the domain package, including ones added later (QC, metal, KPIs)
    code = ("import sys, pkgutil, importlib, floorkiosk.domain as d; "
            "[importlib.import_module('floorkiosk.domain.' + m.name) for m in pkgutil.iter_modules(d.__path__)]; "
            "bad = [m for m in ('textual', 'serial', 'cv2', 'sqlite3', 'sqlite_utils', 'psycopg') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_the_stones_set_are_taken_off_the_setting_weigh_out():
    from decimal import Decimal as D

    from floorkiosk.domain import stones as ds
    from floorkiosk.domain.guardrails import weight_loss
    from floorkiosk.domain.records import Stage
    from floorkiosk.domain.state import StageState

    stage = Stage("stone-setting", "Stone setting", "setting", max_loss_pct=D("1.0"))
    # 5.990 in, 6.184 out with a 1.02 ct diamond (0.204 g): 0.010 g of metal lost, within 1 %
    ok = weight_loss(stage, D("5.990"), D("6.184"), D("0.001"), D("1.02") * ds.GRAMS_PER_CT)
    assert (ok.grams, ok.pct, ok.beyond, ok.stones) == (D("0.010"), D("0.17"), False, D("0.204"))
    # 6.014 out: heavier than it came in, yet 0.180 g of metal lost, beyond 1 %
    bad = weight_loss(stage, D("5.990"), D("6.014"), D("0.001"), D("0.204"))
    assert (bad.grams, bad.pct, bad.beyond) == (D("0.180"), D("3.01"), True)
    # without the stones the same weighing read as a gain: what hid the loss
    assert weight_loss(stage, D("5.990"), D("6.014"), D("0.001")).grams < 0
    # carats set: the parcels' (issued less returned, broken, lost) when stones were issued, else the card's lines
    lines = [{"count": 1, "ct": "1.02"}, {"count": 18, "ct": "0.36"}, {"count": 1}]
    assert ds.carats_set(lines, []) == D("1.38")
    assert ds.carats_set(lines, [D("1.02"), D("0.30")]) == D("1.32")
    # in the piece from the setting weigh-out on; its weigh-in is of the metal alone
    setting = {"stone-setting": StageState("stone-setting", status="in progress")}
    assert ds.in_the_piece(setting, "stone-setting", "stone-setting", "out")
    assert not ds.in_the_piece(setting, "stone-setting", "stone-setting", "in")
    assert not ds.in_the_piece(setting, "stone-setting", "polishing", "in")
    done = {"stone-setting": StageState("stone-setting", status="done")}
    assert ds.in_the_piece(done, "stone-setting", "polishing", "in")
    assert not ds.in_the_piece(done, None, "polishing", "in")
