"""Batch sampling: n of N, a reproducible recorded draw, and every piece inspected after a failure."""

from decimal import Decimal

import pytest

from photofile import stored_photo  # tests/ is on the path (pytest rootdir)

from scalereading import weigh  # tests/ is on the path (pytest rootdir)
from floorkiosk.workshop import cards, judge, verbs
from floorkiosk.workshop import qc
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import qc as dq
from floorkiosk.workshop.judge import Blocked

from .conftest import PHOTO, final_answers

D = Decimal


@pytest.mark.parametrize("rule,pieces,n", [
    (dq.Sampling(percent=D("20"), min=2), 10, 2),   # 20 % of 10 = 2.0
    (dq.Sampling(percent=D("20"), min=2), 11, 3),   # 20 % of 11 = 2.2, rounded up
    (dq.Sampling(percent=D("20"), min=2), 4, 2),    # 20 % of 4 = 0.8 -> 1, but at least 2
    (dq.Sampling(percent=D("20"), min=2), 1, 1),    # never more than the batch
    (dq.Sampling(n=3), 10, 3),
    (dq.Sampling(n=3), 2, 2),
    (None, 7, 7),                                   # no sampling: every piece
    (dq.Sampling(n=3), 0, 0),
])
def test_sample_size(rule, pieces, n):
    assert dq.sample_size(rule, pieces) == n


def test_the_draw_is_reproducible_and_pinned():
    jobs = [f"J{i:06d}" for i in range(1, 11)]
    first = dq.draw("B0001", "qc", jobs, 3)
    assert first == dq.draw("B0001", "qc", list(reversed(jobs)), 3)  # the order given does not matter
    assert len(first) == 3 and set(first) <= set(jobs) and first == sorted(first)
    # Pinned: a recorded sample must be re-derivable by any later version from the batch id alone.
    assert first == ["J000001", "J000003", "J000008"]
    assert dq.draw("B0002", "qc", jobs, 3) != first  # another batch draws other pieces
    assert dq.draw("B0001", "qc", jobs[:2], 3) == jobs[:2]


@pytest.fixture
def batch5(qshop):
    # 5 pieces at QC: 20 % of 5 = 1, at least 2 -> 2 drawn
    return qshop[1]["batch"], qshop[1]["pieces"]


def test_first_scan_draws_and_records_the_sample_once(shop, batch5):
    batch, jobs = batch5
    insp = qc.begin(shop, jobs[0], "farid", "qc")
    drawn = dq.draw(batch, "qc", jobs, 2)
    assert insp.sample.drawn == drawn and insp.sample.n == 2 and insp.sample.pieces == jobs
    rows = shop.journal.query("SELECT payload FROM events WHERE type = 'qc.sample_drawn'")
    assert len(rows) == 1 and '"drawn":["%s","%s"]' % tuple(drawn) in rows[0][0]
    qc.begin(shop, jobs[1], "farid", "qc")
    assert shop.journal.query("SELECT count(*) FROM events WHERE type = 'qc.sample_drawn'")[0][0] == 1
    assert insp.selection == (qc.DRAWN if jobs[0] in drawn else qc.NOT_DRAWN)


def test_inspections_record_whether_the_piece_was_drawn(shop, batch5):
    batch, jobs = batch5
    drawn = dq.draw(batch, "qc", jobs, 2)
    spare = next(j for j in jobs if j not in drawn)
    for job in (drawn[0], spare):
        out = qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job), photo=PHOTO, pin="1357")
        assert out.result == "pass" and "Quality control finished" in out.done
    rows = dict(shop.journal.query("SELECT job, sampled FROM qc_inspections"))
    assert rows == {drawn[0]: 1, spare: 0}
    status = qc.sample_status(shop, batch, "qc")
    assert status.must_inspect() == [drawn[1]]  # the other drawn piece is still to inspect
    text = status.text(spare)
    assert "not drawn" in text and "recorded as not sampled" in text


def test_a_failure_puts_the_uninspected_pieces_on_hold(shop, batch5):
    batch, jobs = batch5
    drawn = dq.draw(batch, "qc", jobs, 2)
    passed, failing = drawn
    qc.record_inspection(shop, passed, "farid", "qc", final_answers(shop, passed), photo=PHOTO, pin="1357")
    out = qc.record_inspection(shop, failing, "farid", "qc", final_answers(shop, failing, finish="f"),
                               defect="SCRATCH", pin="1357")
    others = [j for j in jobs if j not in drawn]
    assert out.result == "fail" and sorted(out.held) == others
    status = qc.sample_status(shop, batch, "qc")
    assert status.escalated and status.escalated_defect == "SCRATCH"
    assert set(status.must_inspect()) == {failing, *others}
    assert "FAILED QC" in status.text(others[0]) and "every one of its 5 pieces" in status.text(others[0])
    # the guardrail both ways: a held piece's QC stage cannot start, the inspected one's went through
    held = others[0]
    d = judge.decide(shop, g.START, held, "farid", "qc", "qc")
    assert not d.allowed and d.reasons[0].code == "on-hold" and "every piece is inspected" in d.reasons[0].text
    with pytest.raises(Blocked):
        verbs.start(shop, held, "farid", "qc", "qc")
    assert shop.job(passed).stage("qc").status == "done"
    # the card of a held piece says why
    assert "batch %s failed QC" % batch in cards.job_card(shop, held).history[-1].text


def test_inspecting_a_held_piece_lifts_its_hold_and_finishes_qc(shop, batch5):
    batch, jobs = batch5
    drawn = dq.draw(batch, "qc", jobs, 2)
    qc.record_inspection(shop, drawn[0], "farid", "qc", final_answers(shop, drawn[0], finish="f"), defect="SCRATCH", pin="1357")
    held = next(j for j in jobs if j not in drawn)
    assert shop.job(held).hold is not None
    insp = qc.begin(shop, held, "farid", "qc")
    assert insp.our_hold and insp.selection == qc.AFTER_FAILURE
    out = qc.record_inspection(shop, held, "farid", "qc", final_answers(shop, held), photo=PHOTO, pin="1357")
    state = shop.job(held)
    assert state.hold is None and state.stage("qc").status == "done", out.text()
    assert held not in qc.sample_status(shop, batch, "qc").must_inspect()
    row = shop.journal.query("SELECT selection, sampled FROM qc_inspections WHERE job = ?", (held,))
    assert row == [(qc.AFTER_FAILURE, 0)]


def test_pieces_still_upstream_are_not_held(shop):
    jobs = verbs.create_jobs(shop, [dict(route="casting-line", design="Stacking ring", alloy="14KY", due="2026-12-24")
                             for _ in range(3)])
    batch = verbs.create_batch(shop, jobs, "Stacking ring")
    from .conftest import walk

    for j in jobs[:2]:
        walk(shop, j, "qc", D("2.4"))
    walk(shop, jobs[2], "polishing", D("2.4"))  # still at polishing
    failing = jobs[0]
    out = qc.record_inspection(shop, failing, "farid", "qc", final_answers(shop, failing, finish="f"), defect="SCRATCH", pin="1357")
    assert out.held == [jobs[1]]
    assert shop.job(jobs[2]).hold is None
    assert judge.decide(shop, g.START, jobs[2], "chloe", "polishing", "polishing").allowed
    assert jobs[2] in qc.sample_status(shop, batch, "qc").must_inspect()


def _guard(shop, job, kind=g.FINISH, stage="qc"):
    with shop.journal.lock:
        return qc.guard(shop, shop.journal.conn, shop.job(job), g.Action(kind, stage))


def test_the_sampling_guardrail_both_ways(shop, batch5):
    batch, jobs = batch5
    drawn = dq.draw(batch, "qc", jobs, 2)
    spare = [j for j in jobs if j not in drawn]
    # before anyone scans the batch at QC the draw is already known: a drawn piece may not finish QC
    reasons = _guard(shop, drawn[0])
    assert [r.code for r in reasons] == ["inspection"]
    assert reasons[0].text == f"{drawn[0]} is drawn for inspection in batch {batch} and has not passed it"
    assert reasons[0].overridable
    assert _guard(shop, spare[0]) == []  # not drawn: no inspection needed
    assert _guard(shop, drawn[0], g.START) == []  # starting is not finishing
    # a pass lifts it
    qc.record_inspection(shop, drawn[0], "farid", "qc", final_answers(shop, drawn[0]), pin="1357")
    assert _guard(shop, drawn[0]) == []
    # a failure of the other drawn piece: now every piece must pass, and the failed one again after rework
    qc.record_inspection(shop, drawn[1], "farid", "qc", final_answers(shop, drawn[1], finish="f"), defect="SCRATCH", pin="1357")
    assert "every piece is inspected" in _guard(shop, spare[0])[0].text
    assert _guard(shop, drawn[1])[0].code == "inspection"
    assert _guard(shop, drawn[0]) == []  # passed before the failure, and not rejected since


def _plain_qc_finish(shop, job):
    """The QC stage done with the ordinary verbs, as a kiosk's FINISH would: no inspection recorded."""
    from floorkiosk.workshop.judge import Blocked

    verbs.start(shop, job, "farid", "qc", "qc")
    weigh(shop, job, "farid", "qc", Decimal(shop.job(job).last_weight), phase="out", stage="qc")
    verbs.attach_photo(shop, job, "farid", "qc", stored_photo(shop.photos_dir, 5), stage="qc")
    try:
        verbs.finish(shop, job, "farid", "qc", "qc", checklist=shop.site.stages["qc"].checklist)
    except Blocked as exc:
        return exc
    return None


def test_the_services_enforce_the_sampling_guardrail(shop, batch5):
    batch, jobs = batch5
    drawn = dq.draw(batch, "qc", jobs, 2)
    spare = next(j for j in jobs if j not in drawn)
    blocked = _plain_qc_finish(shop, drawn[0])
    assert blocked is not None and "drawn for inspection" in str(blocked)
    # the job card's view of the action says the same as the enforcement
    decision = judge.decide(shop, g.FINISH, drawn[0], "farid", "qc", "qc", checklist=shop.site.stages["qc"].checklist)
    assert [r.code for r in decision.reasons] == ["inspection"]
    assert shop.job(drawn[0]).stage("qc").status == "in progress"  # nothing recorded by the refused finish
    assert _plain_qc_finish(shop, spare) is None
    assert shop.job(spare).stage("qc").status == "done"
