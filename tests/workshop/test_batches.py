"""Controlled batching (seed 000): job bags scanned into a batch under the site's rules, refused in words."""

from __future__ import annotations

import pytest
from config_helpers import copy_example, edit, problems  # tests/ is on the path (pytest rootdir)

from floorkiosk.domain import events as ev
from floorkiosk.domain.config import load_site
from floorkiosk.errors import NotFound, Refused
from floorkiosk.workshop import cards, verbs


def cast(shop, n: int = 1, *, alloy: str = "14KY", route: str = "casting-line", design: str = "Stacking ring"):
    return verbs.create_jobs(shop, [dict(route=route, design=design, alloy=alloy, due="2026-12-24")
                                    for _ in range(n)], person_id="dev", bench_id="design")


def test_job_bags_scanned_one_after_another_make_one_batch(shop):
    a, b, c = cast(shop, 3)
    bid = verbs.create_batch(shop, [a], "Stacking ring", person_id="farid", bench_id="casting")
    assert verbs.add_to_batch(shop, bid, [b], person_id="farid", bench_id="casting") == [b]
    assert verbs.add_to_batch(shop, "b1", [c]) == [c]  # typed as a person types it
    v = cards.batch_view(shop, bid)
    assert (v.id, v.jobs, v.open, v.alloy, v.route, v.next_stage) == ("B0001", [a, b, c], True, "14KY",
                                                                      "casting-line", "wax-injection")
    assert shop.job(c).batch == bid and cards.batch_jobs(shop, bid) == [a, b, c]
    assert any("put the job in batch B0001" in h.text for h in cards.job_card(shop, c).history)
    # stage actions on the batch reach the bag that joined later, too
    res = verbs.batch_apply(shop, bid, lambda j: verbs.start(shop, j, "dev", "design"), "start")
    assert res.done == [a, b, c] and res.failed == []


@pytest.mark.parametrize("other,why", [
    (dict(alloy="18KY"), "{j} is 18K yellow gold; batch B0001 is 14K yellow gold"),
    (dict(route="fabrication", design="Signet"), "{j} follows the Fabrication route; batch B0001 follows the "
                                                 "Casting line route"),
])
def test_a_bag_unlike_the_batch_is_refused_in_words_and_nothing_changes(shop, other, why):
    a, b = cast(shop, 2)
    bid = verbs.create_batch(shop, [a, b])
    (j,) = cast(shop, **other)
    n = shop.journal.count()
    with pytest.raises(Refused) as exc:
        verbs.add_to_batch(shop, bid, [j])
    assert why.format(j=j) in str(exc.value) and "nothing was recorded" in str(exc.value)
    assert shop.journal.count() == n and cards.batch_jobs(shop, bid) == [a, b] and shop.job(j).batch is None


def test_a_bag_at_another_stage_is_refused(shop):
    a, b = cast(shop, 2)
    verbs.start(shop, b, "dev", "design")
    verbs.finish(shop, b, "dev", "design")
    bid = verbs.create_batch(shop, [a])
    with pytest.raises(Refused, match=f"{b} is at Tree building; batch B0001 is at Wax injection"):
        verbs.add_to_batch(shop, bid, [b])
    # a new batch of several bags is checked bag by bag against the first, every refusal listed
    d, = cast(shop)
    (c,) = cast(shop, alloy="925")
    with pytest.raises(Refused) as exc:
        verbs.create_batch(shop, [d, b, c])
    assert str(exc.value).splitlines() == [f"{b} is at Tree building; batch B0002 is at Wax injection",
                                           f"{c} is Sterling silver; batch B0002 is 14K yellow gold",
                                           "nothing was recorded"]
    assert cards.list_batches(shop) == [cards.batch_view(shop, bid)]


def test_one_open_batch_per_job_and_closing_frees_the_pieces(shop):
    a, b = cast(shop, 2)
    first = verbs.create_batch(shop, [a, b], person_id="farid")
    with pytest.raises(Refused, match=f"{a} is already in open batch {first}"):
        verbs.create_batch(shop, [a])
    with pytest.raises(Refused, match=f"{a} is already in batch {first}"):
        verbs.add_to_batch(shop, first, [a])
    e = verbs.close_batch(shop, first, person_id="farid", note="tree cast")
    assert e.type == ev.BATCH_CLOSED and not cards.batch_view(shop, first).open
    with pytest.raises(Refused, match="already closed"):
        verbs.close_batch(shop, first)
    (c,) = cast(shop)
    with pytest.raises(Refused, match=f"batch {first} was closed .*: no more job bags join it"):
        verbs.add_to_batch(shop, first, [c])
    second = verbs.create_batch(shop, [a, c])
    assert shop.job(a).batch == second and cards.list_batches(shop) == [cards.batch_view(shop, second)]
    assert [b.id for b in cards.list_batches(shop, include_closed=True)] == [first, second]


def test_unknown_jobs_people_and_batches_are_refused(shop):
    (a,) = cast(shop)
    n = shop.journal.count()
    with pytest.raises(NotFound, match="no job J000404"):
        verbs.create_batch(shop, [a, "J000404"])
    with pytest.raises(NotFound, match="no person 'zed'"):
        verbs.create_batch(shop, [a], person_id="zed")
    with pytest.raises(NotFound, match="no batch B0009"):
        verbs.add_to_batch(shop, "B9", [a])
    with pytest.raises(Refused, match="named twice"):
        verbs.create_batch(shop, [a, "1"])
    assert shop.journal.count() == n


def test_the_batch_rows_are_derived_again_identically(shop):
    a, b, c = cast(shop, 3)
    bid = verbs.create_batch(shop, [a, b], person_id="farid")
    verbs.add_to_batch(shop, bid, [c])
    verbs.close_batch(shop, bid, person_id="eva")
    before = shop.journal.state_digest()
    shop.journal.rebuild()
    assert shop.journal.state_digest() == before
    v = cards.batch_view(shop, bid)
    assert v.jobs == [a, b, c] and v.closed_by == "eva" and v.created_by == "farid"


def test_rules_switched_off_in_the_site_config_let_unlike_bags_share_a_batch(tmp_path, clock):
    from floorkiosk.workshop.site import init_site, open_shop

    cfg = copy_example(tmp_path / "config")
    edit(cfg / "site.toml", "same_alloy = true", "same_alloy = false")
    init_site(tmp_path / "site", cfg, origin="test-bench")
    shop = open_shop(tmp_path / "site", clock=clock)
    try:
        (a,), (b,) = cast(shop), cast(shop, alloy="925")
        bid = verbs.create_batch(shop, [a, b])
        assert cards.batch_jobs(shop, bid) == [a, b]
        (c,) = cast(shop, route="fabrication")
        with pytest.raises(Refused, match="route"):  # the other rules still hold
            verbs.add_to_batch(shop, bid, [c])
    finally:
        shop.close()


def test_batching_rules_in_the_config_are_checked_at_their_line(tmp_path):
    cfg = copy_example(tmp_path / "config")
    assert load_site(cfg).batching.same_next_stage
    line = edit(cfg / "site.toml", "same_route = true", "same_rout = true")
    line2 = edit(cfg / "site.toml", "same_alloy = true", 'same_alloy = "yes"')
    found = problems(cfg)
    assert f"{cfg / 'site.toml'}:{line}: unknown key 'same_rout' in [batching] (did you mean same_route?)" in found
    assert f"{cfg / 'site.toml'}:{line2}: 'same_alloy' in [batching] must be true or false, not 'yes'" in found


def test_a_site_without_batching_rules_has_them_all_on(tmp_path):
    cfg = copy_example(tmp_path / "config")
    text = (cfg / "site.toml").read_text()
    start = text.index("[batching]")
    (cfg / "site.toml").write_text(text[:start] + text[text.index("# Alloys"):])
    rules = load_site(cfg).batching
    assert rules.same_alloy and rules.same_route and rules.same_next_stage and rules.one_open_batch
