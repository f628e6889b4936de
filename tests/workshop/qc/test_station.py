"""The QC station's verbs on a real site: pass verifies or finishes, fail sends back as rework; bad input changes nothing."""

from decimal import Decimal

import pytest

from scalereading import weigh  # tests/ is on the path (pytest rootdir)
from floorkiosk.workshop import cards, judge, verbs
from floorkiosk.workshop import qc
from floorkiosk.domain import guardrails as g
from floorkiosk.errors import Refused
from floorkiosk.workshop.judge import Blocked

from .conftest import PHOTO, do_stage, final_answers, new_ring, walk


def count(shop) -> int:
    return shop.journal.count()


def test_pass_at_final_qc_weighs_out_and_finishes_the_stage(shop, ring_at_qc):
    job, grams = ring_at_qc  # the ring with its stones set (1.38 ct, 0.276 g)
    weight = grams + Decimal("0.030")
    answers = final_answers(shop, job, weight=str(weight))
    out = qc.record_inspection(shop, job, "farid", "qc", answers, photo=PHOTO, pin="1357")
    assert out.result == "pass" and not out.pending, out.text()
    st = shop.job(job).stage("qc")
    assert st.status == "done" and st.weight_out == str(weight) and st.finished_by == "farid"
    # every checklist item of the QC stage was judged by the inspection and confirmed with the finish
    assert st.checklist == ["stones secure", "finish as specified", "hallmark legible"]
    row = shop.journal.query("SELECT result, plan, sampled, checks FROM qc_inspections WHERE job = ?", (job,))[0]
    dev = (Decimal("0.030") / grams * 100).quantize(Decimal("0.01"))
    assert row[:3] == ("pass", "final-ring", 0) and f'"deviation_pct": "{dev}"' in row[3]  # 0.030 g over the last weight


def test_without_a_photo_the_qc_stage_stays_open_and_says_why(shop, ring_at_qc):
    job, _ = ring_at_qc
    out = qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job), pin="1357")
    assert out.result == "pass" and shop.job(job).stage("qc").status == "in progress"
    assert "needs 1 photo" in out.text() and "photograph the piece" in out.text()
    verbs.attach_photo(shop, job, "farid", "qc", PHOTO, stage="qc")
    verbs.finish(shop, job, "farid", "qc", "qc", checklist=shop.site.stages["qc"].checklist)
    assert shop.job(job).stage("qc").status == "done"


def test_fail_sends_the_piece_back_as_rework_with_the_reason(shop, ring_at_qc):
    job, _ = ring_at_qc
    out = qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job, shank="1.21"), pin="1357")
    assert out.result == "fail" and "rejected: THIN-SHANK, back to Cleanup" in out.text()
    state = shop.job(job)
    assert state.stage("cleanup").status == "rework" and state.stage("cleanup").reworks == 1
    assert state.stage("qc").status == "todo"  # not left open while the piece is back at the bench
    reworks = shop.journal.query("SELECT stage, reworks FROM job_stages WHERE job = ? AND reworks > 0", (job,))
    assert reworks == [("cleanup", 1)]  # what the first-time-right rate reads
    card = cards.job_card(shop, job)
    assert {s.id: s.status for s in card.stages}["cleanup"] == "rework"
    texts = [h.text for h in card.history]
    assert "Farid Haddad inspected Quality control: FAIL THIN-SHANK — shank thickness 1.21 mm is below 1.4 mm; back to Cleanup" in texts
    assert any(t.startswith("Farid Haddad rejected Cleanup: THIN-SHANK shank thickness 1.21 mm") for t in texts)
    # after the rework, and what was built on it done again (the setting verified again), the piece
    # comes back to QC and passes
    grams = do_stage(shop, job, "cleanup", Decimal("4.950"))
    assert {s.id: s.reopened for s in cards.job_card(shop, job).stages if s.reopened} == {
        "stone-setting": "Cleanup was sent back", "polishing": "Cleanup was sent back"}
    for again in ("stone-setting", "polishing"):
        grams = do_stage(shop, job, again, grams)
    assert qc.begin(shop, job, "farid", "qc").stage == "qc"
    out = qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job), photo=PHOTO, pin="1357")
    assert out.result == "pass" and shop.job(job).stage("qc").status == "done"
    assert shop.job(job).stage("cleanup").reworks == 1


def test_inspector_may_choose_another_defect_and_stage(shop, ring_at_qc):
    job, _ = ring_at_qc
    out = qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job, finish="f"),
                               defect="porosity", redo="Cleanup", reason="pits under the bezel", pin="1357")
    assert out.result == "fail"
    e = shop.journal.query("SELECT payload FROM events WHERE type = 'stage.rejected'")[-1][0]
    assert '"defect":"POROSITY"' in e and '"redo":"cleanup"' in e and "pits under the bezel" in e


def test_verification_inspection_of_stone_setting_opens_polishing(shop, qshop):
    job = qshop[1]["verify"]  # stone setting done by Ben, not verified
    # the canonical guardrail, blocked: polishing waits for stone setting to be verified
    assert not judge.decide(shop, g.START, job, "chloe", "polishing", "polishing").allowed
    insp = qc.begin(shop, job, "eva", "qc")
    assert (insp.stage, insp.target.mode, insp.target.plan.id) == ("stone-setting", "verify", "setting")
    out = qc.record_inspection(shop, job, "eva", "qc",
                               {"weight": shop.job(job).last_weight, "secure": "p", "alignment": "0.5",
                                "stone-condition": "p"}, pin="2468")
    assert out.result == "pass" and "Stone setting verified" in out.done
    assert shop.job(job).stage("stone-setting").verified_by == "eva"
    assert judge.decide(shop, g.START, job, "chloe", "polishing", "polishing").allowed


def test_failed_verification_reworks_the_setting(shop, qshop):
    job = qshop[1]["verify"]  # stone setting done by Ben, not verified
    out = qc.record_inspection(shop, job, "eva", "qc",
                               {"weight": shop.job(job).last_weight, "secure": "f", "alignment": "3.5",
                                "stone-condition": "p"}, pin="2468")
    assert out.result == "fail" and "rejected: LOOSE-STONE, back to Stone setting" in out.text()
    st = shop.job(job).stage("stone-setting")
    assert st.status == "rework" and st.reworks == 1
    assert not judge.decide(shop, g.START, job, "chloe", "polishing", "polishing").allowed


@pytest.mark.parametrize("change,kw,says", [
    ({"shank": "1,2,3"}, {}, "shank thickness: '1,2,3' is not a number"),
    ({"weight": "heavy"}, {}, "weight: 'heavy' is not a weight"),
    ({"finish": "f"}, {"defect": "DENT"}, "unknown defect code 'DENT'"),
    ({"finish": "f"}, {"defect": "SCRATCH", "redo": "packaging"}, "cannot go back to 'packaging'"),
    ({"hallmark": ""}, {}, "not answered yet: hallmark legible"),
])
def test_bad_input_is_refused_and_records_nothing(shop, ring_at_qc, change, kw, says):
    job, _ = ring_at_qc
    answers = final_answers(shop, job, **change)
    before = count(shop)
    with pytest.raises(Refused) as exc:
        qc.record_inspection(shop, job, "farid", "qc", answers, **kw, pin="1357")
    assert says in str(exc.value)
    assert count(shop) == before
    assert shop.job(job).stage("qc").status == "todo"


def test_only_a_supervisor_inspects_and_only_at_a_qc_station(shop, ring_at_qc):
    job, _ = ring_at_qc
    before = count(shop)
    with pytest.raises(Refused, match="Ben Okafor does not have the supervisor role"):
        qc.begin(shop, job, "ben", "qc")
    with pytest.raises(Refused, match="Polishing & plating is not a QC station"):
        qc.begin(shop, job, "farid", "polishing")
    assert count(shop) == before
    assert qc.begin(shop, job, "farid", "qc").stage == "qc"


def test_four_eyes_blocks_and_records_nothing(shop):
    # Eva polished the piece herself, so she may not reject her own polishing
    job = new_ring(shop)
    walk(shop, job, "polishing")
    verbs.start(shop, job, "eva", "polishing", "polishing")
    weigh(shop, job, "eva", "polishing", "4.95", phase="in")
    weigh(shop, job, "eva", "polishing", "4.94", phase="out")
    verbs.finish(shop, job, "eva", "polishing", "polishing", checklist=["finish as specified"])
    before = count(shop)
    with pytest.raises(Blocked) as exc:
        qc.record_inspection(shop, job, "eva", "qc", final_answers(shop, job, finish="f"), defect="SCRATCH", pin="2468")
    assert exc.value.decision.reasons[0].code == "four-eyes"
    assert count(shop) == before
    # another supervisor may
    assert qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job, finish="f"),
                                defect="SCRATCH", pin="1357").result == "fail"


def test_nothing_to_inspect_says_so(shop):
    job = new_ring(shop)
    with pytest.raises(Refused, match=f"nothing to inspect on {job}"):
        qc.begin(shop, job, "farid", "qc")


def test_tables_rebuild_to_the_same_state(shop, ring_at_qc):
    job, _ = ring_at_qc
    qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job, shank="1.1"), pin="1357")
    qc.issue_stones(shop, job, "farid", "ben", line=2)
    qc.move_stones(shop, job, "set", 17, "ben")
    before = shop.journal.state_digest()
    shop.journal.rebuild()
    assert shop.journal.state_digest() == before
    assert shop.journal.query("SELECT count(*) FROM qc_defects")[0][0] == 1


@pytest.mark.parametrize("how,typed", [("typed", True), ("scale", False)])
def test_a_weight_typed_at_the_inspection_is_marked_typed_and_a_scale_reading_is_not(shop, ring_at_qc, how, typed):
    job, grams = ring_at_qc
    answers = final_answers(shop, job, weight=str(grams + Decimal("0.030")))
    out = qc.record_inspection(shop, job, "farid", "qc", answers, photo=PHOTO, sources={"weight": how}, pin="1357")
    assert (f"weighed out {grams + Decimal('0.030')} g" in out.text()) and ("typed by hand" in out.text()) is typed
    e = [e for e in shop.journal.events(job=job) if e.type == "weight.recorded"][-1]
    assert e.payload["source"] == ("manual" if typed else "scale")
    line = next(h.text for h in cards.job_card(shop, job).history if "weighed out Quality control" in h.text)
    assert ("TYPED BY HAND, approved by Farid Haddad: typed at the QC inspection" in line) is typed
