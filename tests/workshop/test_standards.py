"""Versioned standards on a real site: proposed, approved by another admin, kept by running jobs, moved on purpose."""

from __future__ import annotations

import pytest

from config_helpers import copy_example, edit  # tests/ is on the path (pytest rootdir)
from handclock import HandClock
from scalereading import weigh
from floorkiosk.cli import main
from floorkiosk.domain import standards as dstd
from floorkiosk.store import apart as apart_mod
from floorkiosk.errors import ConfigError, NotFound, Refused
from floorkiosk.workshop import capa, cards, qc, standards, verbs
from floorkiosk.workshop.judge import Blocked
from floorkiosk.workshop.site import init_site, open_shop

DESIGN_STAGES = ("consultation", "cad-approval", "wax-print")


@pytest.fixture
def site_dir(tmp_path):
    """A site with two admins: Farid (supervisor and admin, as the example) and Eva (made an admin here)."""
    cfg = copy_example(tmp_path / "cfg")
    edit(cfg / "people.toml", 'roles = ["supervisor"]', 'roles = ["supervisor", "admin"]')
    return init_site(tmp_path / "site", cfg, origin="test-bench")


@pytest.fixture
def shop(site_dir):
    s = open_shop(site_dir, clock=HandClock())
    yield s
    s.close()


def ring(shop) -> str:
    return verbs.create_job(shop, route="custom-ring", design="Solitaire", alloy="18KY", due="2026-12-24")


def to_casting(shop, j: str) -> None:
    for st in DESIGN_STAGES:
        verbs.start(shop, j, "dev", "design")
        verbs.finish(shop, j, "dev", "design", checklist=shop.site.stages[st].checklist)
    verbs.start(shop, j, "ana", "casting")
    weigh(shop, j, "ana", "casting", "10.00")


def cast_losing_2pct(shop, j: str) -> bool:
    """Weigh the casting out 2 % lighter: held or not, as the job's tolerance says."""
    return weigh(shop, j, "ana", "casting", "9.80").held


def tighter_casting(tmp_path, shop, pct: str = "1.0") -> str:
    """A new routes.toml: the casting loss tolerance (3.0 % in the example) tightened."""
    new = tmp_path / "new-routes.toml"
    text = (shop.dir / "config" / "routes.toml").read_text()
    assert text.count("max_loss_pct = 3.0") == 1
    new.write_text(text.replace("max_loss_pct = 3.0", f"max_loss_pct = {pct}"))
    return str(new)


def test_a_change_is_proposed_then_approved_by_another_admin_and_written_to_config(tmp_path, shop):
    p = standards.propose(shop, tighter_casting(tmp_path, shop), why="casting loss drifting", person_id="farid")
    assert p.adopted and p.version.number == 2 and p.version.changed == ("routes.toml",)
    assert "max_loss_pct = 3.0" in (shop.dir / "config" / "routes.toml").read_text()  # not before approval
    assert standards.current(shop) == 1
    v = standards.approve(shop, 2, person_id="eva")
    assert (v.approved_by, standards.current(shop)) == ("eva", 2)
    assert "max_loss_pct = 1.0" in (shop.dir / "config" / "routes.toml").read_text()
    first = standards.version(shop, 1)
    assert first.hash == dstd.content_hash(first.docs) and v.hash == dstd.content_hash(v.docs)
    d = dstd.diff(first.docs, v.docs, "v1", "v2")
    assert "-max_loss_pct = 3.0\n+max_loss_pct = 1.0" in d and "v2/routes.toml" in d
    assert standards.config_drift(shop) == []


def test_the_proposer_cannot_approve_their_own_change_and_nothing_is_recorded(tmp_path, shop):
    standards.propose(shop, tighter_casting(tmp_path, shop), why="casting loss drifting", person_id="farid")
    n = shop.journal.count()
    with pytest.raises(Refused, match="Farid Haddad proposed v2: another admin must approve it"):
        standards.approve(shop, 2, person_id="farid")
    assert shop.journal.count() == n and standards.current(shop) == 1
    assert standards.approve(shop, 2, person_id="eva").approved  # another admin may


def test_a_non_admin_cannot_approve_and_an_artisan_cannot_propose(tmp_path, shop):
    # Eva is an admin on this site: make a proposal by her that a plain supervisor then cannot approve
    standards.propose(shop, tighter_casting(tmp_path, shop), why="casting loss drifting", person_id="eva")
    n = shop.journal.count()
    for who, msg in (("ana", "Ana Costa is not an admin"), (None, "say who approves")):
        with pytest.raises(Refused, match=msg):
            standards.approve(shop, 2, person_id=who)
    with pytest.raises(Refused, match="Ana Costa is not a supervisor"):
        standards.propose(shop, tighter_casting(tmp_path, shop, "2.0"), why="x", person_id="ana")
    assert shop.journal.count() == n
    assert standards.approve(shop, 2, person_id="farid").approved_by == "farid"


def test_an_invalid_proposal_is_refused_with_file_and_line_and_nothing_is_recorded(tmp_path, shop):
    bad = tmp_path / "routes.toml"
    text = (shop.dir / "config" / "routes.toml").read_text()
    bad.write_text(text.replace("max_loss_pct = 3.0", 'max_loss_pct = "three"'))
    line = text[: text.index("max_loss_pct = 3.0")].count("\n") + 1
    n = shop.journal.count()
    with pytest.raises(ConfigError) as exc:
        standards.propose(shop, bad, why="typo", person_id="farid")
    assert f"{bad}:{line}: 'max_loss_pct' must be a number, not 'three'" in exc.value.problems
    # a stage removed that the site's benches serve: the bench's line in site.toml is named
    bad.write_text(text.replace('id = "engraving"', 'id = "engraving-by-hand"'))
    with pytest.raises(ConfigError) as exc:
        standards.propose(shop, bad, why="rename", person_id="farid")
    assert any("site.toml:" in p and "engraving" in p for p in exc.value.problems)
    with pytest.raises(Refused, match="say why"):
        standards.propose(shop, tighter_casting(tmp_path, shop), why="  ", person_id="farid")
    with pytest.raises(NotFound, match="no corrective action"):
        standards.propose(shop, tighter_casting(tmp_path, shop), why="x", person_id="farid", capa_ids=["CA0042"])
    same = tmp_path / "same" / "routes.toml"
    same.parent.mkdir()
    same.write_text(text)
    with pytest.raises(Refused, match="nothing to propose"):
        standards.propose(shop, same, why="x", person_id="farid")
    other = tmp_path / "notes.toml"
    other.write_text('[site]\nname = "x"\n')
    with pytest.raises(Refused, match="not one of the standards"):
        standards.propose(shop, other, why="x", person_id="farid")
    with pytest.raises(Refused, match="is the site's own config, the version in effect"):
        standards.propose(shop, shop.dir / "config" / "routes.toml", why="edited in place", person_id="farid")
    assert shop.journal.count() == n and standards.versions(shop) == []
    assert (shop.dir / "config" / "routes.toml").read_text() == text


def test_a_running_job_keeps_its_tolerance_while_a_new_job_gets_the_new_one(tmp_path, shop, site_dir):
    old = ring(shop)
    to_casting(shop, old)
    standards.propose(shop, tighter_casting(tmp_path, shop), why="casting loss drifting", person_id="farid")
    standards.approve(shop, 2, person_id="eva")
    new = ring(shop)
    to_casting(shop, new)
    assert (standards.job_version(shop, old), standards.job_version(shop, new)) == (1, 2)
    assert standards.site_for(shop, new).stages["casting"].max_loss_pct == 1.0
    assert standards.site_for(shop, old).stages["casting"].max_loss_pct == 3.0
    assert not cast_losing_2pct(shop, old)  # 2 % is within the 3 % it was created under
    assert cast_losing_2pct(shop, new)  # and beyond the 1 % now in effect
    shop.close()
    again = open_shop(site_dir, clock=HandClock())  # the site reopened on the new config: the same answers
    try:
        assert again.site.stages["casting"].max_loss_pct == 1.0
        assert standards.site_for(again, old).stages["casting"].max_loss_pct == 3.0
        assert standards.site_for(again, new) is again.site
    finally:
        again.close()


def test_a_running_job_moves_to_the_new_version_only_on_purpose(tmp_path, shop):
    moved, stays = ring(shop), ring(shop)
    for j in (moved, stays):
        to_casting(shop, j)
    standards.propose(shop, tighter_casting(tmp_path, shop), why="casting loss drifting", person_id="farid")
    n = shop.journal.count()
    with pytest.raises(Refused, match="v2 is not approved"):
        standards.move(shop, [moved], to=2, person_id="eva", why="the new tolerance for all")
    standards.approve(shop, 2, person_id="eva")
    with pytest.raises(Refused, match="Ana Costa is not a supervisor"):
        standards.move(shop, [moved], to=2, person_id="ana", why="x")
    with pytest.raises(Refused, match="say why"):
        standards.move(shop, [moved], to=2, person_id="eva", why="")
    assert shop.journal.count() == n + 1  # only the approval
    assert standards.move(shop, [moved], to="v2", person_id="eva", why="the new tolerance for all") == [moved]
    assert standards.move(shop, [moved], to=2, person_id="eva", why="again") == []  # there already
    assert (standards.job_version(shop, moved), standards.job_version(shop, stays)) == (2, 1)
    assert cast_losing_2pct(shop, moved) and not cast_losing_2pct(shop, stays)
    history = [shop.describe(e) for e in shop.journal.events(job=moved)]
    assert "Eva Lindqvist moved J000001 from standards v1 to v2: the new tolerance for all" in history


def test_a_job_keeps_the_qc_plan_and_tolerance_it_was_created_under(tmp_path, shop):
    text = (shop.dir / "config" / "qc.toml").read_text()
    cfg = qc._cfg(shop)
    plan = next(p for p in cfg.plans if any(c.max is not None for c in p.checks))
    check = next(c for c in plan.checks if c.max is not None)
    old = ring(shop)
    new_text = text.replace(f"max = {check.max}", f"max = {check.max * 2}", 1)
    assert new_text != text
    proposal = tmp_path / "qc-tighter.toml"
    proposal.write_text(new_text)
    c = capa.open_capa(shop, "plating too thin", person_id="eva", owner="chloe", due="2099-01-01")
    p = standards.propose(shop, proposal, why="the plating spec changed", person_id="eva", capa_ids=[c.id])
    assert p.version.changed == ("qc.toml",) and p.version.capa == (c.id,)
    standards.approve(shop, p.version.number, person_id="farid")
    new = ring(shop)

    def limit(job: str) -> float:
        state = shop.job(job)
        pl = next(x for x in qc._cfg(shop, state).plans if x.id == plan.id)
        return next(x for x in pl.checks if x.id == check.id).max

    assert (limit(old), limit(new)) == (check.max, check.max * 2)


def test_approving_a_proposal_made_on_an_older_version_is_refused(tmp_path, shop):
    standards.propose(shop, tighter_casting(tmp_path, shop, "2.0"), why="a", person_id="farid")
    standards.propose(shop, tighter_casting(tmp_path, shop, "1.0"), why="b", person_id="farid")
    standards.approve(shop, 3, person_id="eva")
    with pytest.raises(Refused, match="v2 was proposed on v1, but v3 is in effect now"):
        standards.approve(shop, 2, person_id="eva")


def test_the_kpis_before_and_after_each_change(tmp_path, shop):
    old = ring(shop)
    to_casting(shop, old)
    cast_losing_2pct(shop, old)
    standards.propose(shop, tighter_casting(tmp_path, shop), why="casting loss drifting", person_id="farid")
    standards.approve(shop, 2, person_id="eva")
    (cmp,) = standards.compare(shop)
    assert (cmp.change.number, cmp.before.version, cmp.after.version) == (2, 1, 2)
    assert (cmp.before.jobs, cmp.after.jobs) == (1, 0)
    assert cmp.before.loss_pct == pytest.approx(2.0) and cmp.after.loss_pct is None
    new = ring(shop)
    to_casting(shop, new)
    weigh(shop, new, "ana", "casting", "9.95")
    (cmp,) = standards.compare(shop)
    assert cmp.after.jobs == 1 and cmp.after.loss_pct == pytest.approx(0.5)


def test_the_events_rebuild_to_the_same_tables(tmp_path, shop):
    j = ring(shop)
    standards.propose(shop, tighter_casting(tmp_path, shop), why="casting loss drifting", person_id="farid")
    standards.approve(shop, 2, person_id="eva")
    standards.move(shop, [j], to=2, person_id="eva", why="all on the new tolerance")
    before = (standards.versions(shop), standards.job_version(shop, j))
    digest = shop.journal.state_digest()
    check = shop.journal.check_derived()
    assert not check.differing and not check.refused and not check.unreadable
    for apart in (False, True):  # folded here, or in the helper process
        shop.journal.rebuild(apart=apart)
        assert (standards.versions(shop), standards.job_version(shop, j)) == before
        assert shop.journal.state_digest() == digest


def test_two_proposals_of_one_number_keep_the_first_and_an_approval_names_what_it_approved(tmp_path, shop):
    """As on a hub site, where two benches may each propose v2 before either hears of the other."""
    standards.propose(shop, tighter_casting(tmp_path, shop), why="first", person_id="farid")
    first = standards.version(shop, 2)
    other = dict(first.docs) | {"routes.toml": first.docs["routes.toml"].replace("max_loss_pct = 1.0",
                                                                                    "max_loss_pct = 2.5")}
    pulled = shop.event(standards.PROPOSED, None, "eva", None,
                        {"version": 2, "hash": dstd.content_hash(other), "base": 1, "docs": other,
                         "changed": ["routes.toml"], "why": "second"})
    shop.journal.append(pulled)
    assert standards.version(shop, 2).why == "first"
    shop.journal.append(shop.event(standards.APPROVED, None, "farid", None, {"version": 2, "hash": pulled.payload["hash"]}))
    assert not standards.version(shop, 2).approved  # the approval of the other proposal approves nothing here
    assert standards.approve(shop, 2, person_id="eva").why == "first"


def test_a_route_renamed_that_a_qc_plan_still_names_points_at_the_qc_plan_of_the_version_in_effect(tmp_path, shop):
    text = (shop.dir / "config" / "routes.toml").read_text()
    qc_text = (shop.dir / "config" / "qc.toml").read_text()
    bad = tmp_path / "routes.toml"
    bad.write_text(text.replace('id = "custom-ring"', 'id = "bespoke-ring"'))
    with pytest.raises(ConfigError) as exc:
        standards.propose(shop, bad, why="rename", person_id="farid")
    line = qc_text[: qc_text.index('routes = ["custom-ring"]')].count("\n") + 1
    assert [p for p in exc.value.problems if p.startswith(f"qc.toml of v1:{line}:")], exc.value.problems
    assert standards.versions(shop) == []


# --- the route follows the job's version -----------------------------------------------------------

WAX_THEN_CAST = '  { stage = "wax-print" },\n  { stage = "casting" },\n'


def route_with_wax_injection(tmp_path, shop) -> str:
    """A new routes.toml: the custom ring gains a stage (wax injection) between the wax print and the
    casting, which is now the casting's prerequisite."""
    text = (shop.dir / "config" / "routes.toml").read_text()
    assert text.count(WAX_THEN_CAST) == 1
    new = tmp_path / "routes-wax-injection.toml"
    new.write_text(text.replace(WAX_THEN_CAST, '  { stage = "wax-print" },\n  { stage = "wax-injection" },\n'
                                               '  { stage = "casting" },\n'))
    return str(new)


def consultation_verified(tmp_path, shop) -> str:
    """A new routes.toml: the consultation must be verified before the CAD approval starts."""
    text = (shop.dir / "config" / "routes.toml").read_text()
    old = 'id = "consultation"\nname = "Consultation"\n'
    assert text.count(old) == 1
    new = tmp_path / "routes-consultation-verified.toml"
    new.write_text(text.replace(old, old + "verify = true\n"))
    return str(new)


def designed(shop, j: str) -> None:
    for st in DESIGN_STAGES:
        verbs.start(shop, j, "dev", "design")
        verbs.finish(shop, j, "dev", "design", checklist=shop.site.stages[st].checklist)


def card_route(shop, j: str) -> list[str]:
    return [s.id for s in cards.job_card(shop, j).stages]


def adopt(tmp_path, shop, file: str) -> None:
    standards.propose(shop, file, why="the route changes", person_id="farid")
    standards.approve(shop, standards.versions(shop)[-1].number, person_id="eva")


def test_a_running_job_keeps_its_route_while_a_new_job_gets_the_stage_added(tmp_path, shop, site_dir):
    old = ring(shop)
    adopt(tmp_path, shop, route_with_wax_injection(tmp_path, shop))
    new = ring(shop)
    assert "wax-injection" not in card_route(shop, old)
    assert card_route(shop, new)[2:5] == ["wax-print", "wax-injection", "casting"]
    for j in (old, new):
        designed(shop, j)
    assert verbs.start(shop, old, "ana", "casting").payload["stage"] == "casting"  # its route: casting is next
    with pytest.raises(Blocked) as exc:
        verbs.start(shop, new, "ana", "casting", stage="casting")  # the new route: wax injection comes first
    assert "wax-injection" in str(exc.value) or "Wax injection" in str(exc.value)
    shop.close()
    again = open_shop(site_dir, clock=HandClock())  # reopened on the new config: the same routes
    try:
        assert "wax-injection" not in card_route(again, old) and "wax-injection" in card_route(again, new)
        assert "wax-injection" not in again.job(old).stages
        with pytest.raises(Blocked):
            verbs.start(again, new, "ana", "casting", stage="casting")
        verbs.start(again, new, "dev", "design")  # wax injection, then the casting may start
        verbs.finish(again, new, "dev", "design")
        assert verbs.start(again, new, "ana", "casting").payload["stage"] == "casting"
    finally:
        again.close()


def test_a_running_job_keeps_the_verification_its_stages_needed(tmp_path, shop):
    old = ring(shop)
    adopt(tmp_path, shop, consultation_verified(tmp_path, shop))
    new = ring(shop)
    checklist = shop.site.stages["consultation"].checklist
    for j in (old, new):
        verbs.start(shop, j, "dev", "design")
        verbs.finish(shop, j, "dev", "design", checklist=checklist)
    assert standards.site_for(shop, new).stages["consultation"].verify
    assert not standards.site_for(shop, old).stages["consultation"].verify
    assert verbs.start(shop, old, "dev", "design").payload["stage"] == "cad-approval"  # not verified: allowed
    with pytest.raises(Blocked):
        verbs.start(shop, new, "dev", "design", stage="cad-approval")  # to be verified first
    assert [r[0] for r in shop.journal.query("SELECT stage FROM job_stages WHERE job = ? AND ready = 1",
                                             (old,))] == []  # the CAD approval is under way
    assert [r[0] for r in shop.journal.query("SELECT stage FROM job_stages WHERE job = ? AND ready = 1",
                                             (new,))] == []  # the consultation awaits its verification


def test_a_running_job_moves_onto_the_new_route_only_on_purpose(tmp_path, shop):
    moved, stays = ring(shop), ring(shop)
    adopt(tmp_path, shop, route_with_wax_injection(tmp_path, shop))
    for j in (moved, stays):
        designed(shop, j)
    assert standards.move(shop, [moved], to=2, person_id="eva", why="inject the wax from now on") == [moved]
    assert "wax-injection" in card_route(shop, moved) and "wax-injection" not in card_route(shop, stays)
    with pytest.raises(Blocked):
        verbs.start(shop, moved, "ana", "casting", stage="casting")
    assert verbs.start(shop, stays, "ana", "casting").payload["stage"] == "casting"
    verbs.start(shop, moved, "dev", "design")
    assert shop.job(moved).stages["wax-injection"].status == "in_progress" or \
        shop.job(moved).stages["wax-injection"].runs == 1
    # moved back to v1 before anything was done at it: the stage its route no longer has is dropped
    other = ring(shop)
    assert standards.job_version(shop, other) == 2 and "wax-injection" in shop.job(other).stages
    standards.move(shop, [other], to=1, person_id="eva", why="back to the old route")
    assert "wax-injection" not in shop.job(other).stages and "wax-injection" not in card_route(shop, other)


def helper_spied(monkeypatch) -> list:
    """What each rebuild's helper process said when it finished (None: it folded its tables itself), and
    whether the flow KPIs were among its tables."""
    said: list = []
    real = apart_mod.Helper.finish

    def finish(self, conn, timeout=None):
        why = real(self, conn, timeout)
        said.append((why, "kpi_stages" in self.tables))
        return why

    monkeypatch.setattr(apart_mod.Helper, "finish", finish)
    return said


def test_the_routes_of_each_version_rebuild_to_the_same_state(tmp_path, shop, site_dir, capsys, monkeypatch):
    old = ring(shop)
    adopt(tmp_path, shop, route_with_wax_injection(tmp_path, shop))
    new, moved = ring(shop), ring(shop)
    for j in (old, new, moved):
        designed(shop, j)
    standards.move(shop, [moved], to=1, person_id="eva", why="the old route for this one")
    verbs.start(shop, old, "ana", "casting")
    jobs = (old, new, moved)
    before = {j: (shop.job(j).to_dict(), card_route(shop, j)) for j in jobs}
    stage_rows = "SELECT job, stage, status, ready FROM job_stages ORDER BY job, stage"
    ready = shop.journal.query(stage_rows)
    flow_rows = "SELECT job, stage, status, ready, active FROM kpi_stages ORDER BY job, stage"
    flows = shop.journal.query(flow_rows)
    assert ("wax-injection" in {r[1] for r in flows if r[0] == new}
            and "wax-injection" not in {r[1] for r in flows if r[0] in (old, moved)})
    shop.close()
    again = open_shop(site_dir, clock=HandClock())  # on the new config (v2 in config/), folded afresh
    try:
        check = again.journal.check_derived()
        # every derived table, the flow KPIs (kpi_*) among them: each job on its own version's route
        assert not check.differing and not check.refused and not check.unreadable
        digest = again.journal.state_digest()
        said = helper_spied(monkeypatch)
        for apart in (False, True):  # folded here, or in the helper process
            again.journal.rebuild(apart=apart)
            assert {j: (again.job(j).to_dict(), card_route(again, j)) for j in jobs} == before
            assert again.journal.query(stage_rows) == ready
            assert again.journal.query(flow_rows) == flows
            assert again.journal.state_digest() == digest
        assert said == [(None, True)]  # the flow KPIs among what the helper process folded
    finally:
        again.close()
    assert main(["--site", str(site_dir), "audit", "verify"]) == 0
    assert main(["--site", str(site_dir), "db", "rebuild", "--person", "eva"]) == 0
    assert "state identical" in capsys.readouterr().out


def casting_list(shop) -> list[str]:
    """The jobs the casting bench's worklist offers Ana at the casting."""
    return [w.job for w in cards.worklist(shop, "casting", "ana") if w.stage == "casting"]


def waiting_at(shop, stage: str) -> list[str]:
    return [r[0] for r in shop.journal.query("SELECT job FROM kpi_stages WHERE stage = ? AND active = 1 AND ready = 1"
                                             " ORDER BY job", (stage,))]


def test_the_bench_worklist_offers_each_job_as_its_own_route_allows(tmp_path, shop, site_dir):
    old = ring(shop)
    adopt(tmp_path, shop, route_with_wax_injection(tmp_path, shop))
    new = ring(shop)
    for j in (old, new):
        designed(shop, j)
    # the old job may start casting (its route); the new one waits for its wax injection
    assert casting_list(shop) == [old] and waiting_at(shop, "wax-injection") == [new]
    with pytest.raises(Blocked):
        verbs.start(shop, new, "ana", "casting", stage="casting")
    shop.close()
    again = open_shop(site_dir, clock=HandClock())  # on the new config (v2 in config/)
    try:
        for apart in (None, False, True):  # as folded when the events came, then rebuilt here and apart
            if apart is not None:
                again.journal.rebuild(apart=apart)
            assert casting_list(again) == [old] and waiting_at(again, "wax-injection") == [new]
            assert [w.job for w in cards.worklist(again, "design", "dev") if w.stage == "wax-injection"] == [new]
        verbs.start(again, new, "dev", "design")  # the wax injection
        verbs.finish(again, new, "dev", "design")
        assert casting_list(again) == [old, new]
        assert verbs.start(again, old, "ana", "casting").payload["stage"] == "casting"
        assert waiting_at(again, "casting") == [new]
    finally:
        again.close()


def test_a_job_moved_to_another_version_is_offered_on_its_new_route(tmp_path, shop, site_dir):
    stays, moved, back = ring(shop), ring(shop), None
    adopt(tmp_path, shop, route_with_wax_injection(tmp_path, shop))
    back = ring(shop)  # made under v2, moved back to v1: its wax injection, never started, is dropped
    for j in (stays, moved, back):
        designed(shop, j)
    standards.move(shop, [moved], to=2, person_id="eva", why="inject the wax from now on")
    standards.move(shop, [back], to=1, person_id="eva", why="the old route for this one")
    assert casting_list(shop) == [stays, back]
    assert waiting_at(shop, "wax-injection") == [moved]
    assert [r[0] for r in shop.journal.query("SELECT stage FROM kpi_stages WHERE job = ? AND stage = 'wax-injection'",
                                             (back,))] == []
    assert shop.journal.query("SELECT remaining FROM kpi_jobs WHERE job = ?", (moved,))[0][0].split()[:2] == \
        ["wax-injection", "casting"]
    check = shop.journal.check_derived()
    assert not check.differing


def test_a_stage_its_version_verifies_is_offered_for_verification_where_the_config_no_longer_verifies_it(tmp_path, shop):
    adopt(tmp_path, shop, consultation_verified(tmp_path, shop))
    verified = ring(shop)  # under v2: its consultation must be verified
    adopt(tmp_path, shop, unverified(tmp_path, shop))
    plain = ring(shop)  # under v3: it need not be
    checklist = shop.site.stages["consultation"].checklist
    for j in (verified, plain):
        verbs.start(shop, j, "dev", "design")
        verbs.finish(shop, j, "dev", "design", checklist=checklist)
    to_verify = [(w.job, w.stage) for w in cards.worklist(shop, "qc", "eva") if w.status == "to verify"]
    assert to_verify == [(verified, "consultation")]
    with pytest.raises(Blocked):
        verbs.start(shop, verified, "dev", "design", stage="cad-approval")  # to be verified first
    assert verbs.start(shop, plain, "dev", "design").payload["stage"] == "cad-approval"


def unverified(tmp_path, shop) -> str:
    """A new routes.toml: the consultation verified no more (as before the change)."""
    text = (shop.dir / "config" / "routes.toml").read_text()
    new = tmp_path / "routes-consultation-unverified.toml"
    new.write_text(text.replace('id = "consultation"\nname = "Consultation"\nverify = true\n',
                                'id = "consultation"\nname = "Consultation"\n'))
    assert new.read_text() != text
    return str(new)


def as_before_versions(shop) -> None:
    """The flow tables as a site kept them before they knew each job's version (folded on the config's routes)."""
    conn = shop.journal.conn
    with shop.journal.lock:
        conn.execute("ALTER TABLE kpi_jobs DROP COLUMN standards")
        conn.execute("DELETE FROM migrations WHERE name = 'kpi_007_versions'")
        conn.commit()


def test_an_existing_sites_flow_tables_are_folded_again_on_each_jobs_version(tmp_path, shop, site_dir):
    old = ring(shop)
    adopt(tmp_path, shop, route_with_wax_injection(tmp_path, shop))
    new = ring(shop)
    designed(shop, new)
    with shop.journal.lock:  # the new job's stage rows as the config before the change had them
        shop.journal.conn.execute("DELETE FROM kpi_stages WHERE job = ? AND stage = 'wax-injection'", (new,))
        shop.journal.conn.commit()
    as_before_versions(shop)
    shop.close()
    again = open_shop(site_dir, clock=HandClock())
    try:
        assert waiting_at(again, "wax-injection") == [new]
        assert again.journal.query("SELECT job, standards FROM kpi_jobs ORDER BY job") == [(old, 1), (new, 2)]
        check = again.journal.check_derived()
        assert not check.differing
    finally:
        again.close()


def test_a_site_that_never_changed_its_standards_keeps_its_flow_tables_as_they_are(shop, site_dir):
    j = ring(shop)
    with shop.journal.lock:  # a mark that a fold would not keep
        shop.journal.conn.execute("UPDATE kpi_jobs SET design = 'kept as it was' WHERE job = ?", (j,))
        shop.journal.conn.commit()
    as_before_versions(shop)
    shop.close()
    again = open_shop(site_dir, clock=HandClock())
    try:
        assert again.journal.query("SELECT design, standards FROM kpi_jobs") == [("kept as it was", 1)]
    finally:
        again.close()
