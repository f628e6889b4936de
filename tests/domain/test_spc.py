"""Control-chart arithmetic against published worked examples, and each run rule both ways."""
import pytest

from floorkiosk.domain import spc

# NIST/SEMATECH e-Handbook of Statistical Methods, 6.3.2.2 "Individuals Control Charts": the flow rate
# of the first ten batches of a new process, and the limits it prints.
NIST_FLOW = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]


def test_individuals_chart_matches_the_nist_example_to_the_printed_digits():
    lim = spc.individuals(NIST_FLOW)
    assert round(lim.center, 2) == 50.81
    assert round(lim.r_center, 4) == 1.8778
    assert round(lim.ucl, 4) == 55.8041
    assert round(lim.lcl, 4) == 45.8159
    # the handbook multiplies the rounded MR-bar: 3.267 x 1.8778 = 6.1348 (unrounded, 6.1347)
    assert round(3.267 * round(lim.r_center, 4), 4) == 6.1348
    assert lim.r_ucl == pytest.approx(6.1347, abs=5e-5)
    assert lim.r_lcl == 0
    assert [round(m, 1) for m in spc.moving_ranges(NIST_FLOW)] == [2.0, 2.3, 1.4, 3.5, 3.4, 1.4, 0.2, 1.2, 1.5]


def test_capability_matches_the_nist_example():
    # e-Handbook 6.1.6: LSL 8, USL 20, a process at mean 16 with sigma 2
    c = spc.capability(16, 2, 8, 20)
    assert round(c.cp, 4) == 1.0
    assert round(c.cpu, 4) == 0.6667
    assert round(c.cpl, 4) == 1.3333
    assert round(c.cpk, 4) == 0.6667


def test_one_sided_tolerance_gives_cpk_and_no_cp():
    c = spc.capability(1.6, 0.05, 1.4, None)  # a minimum thickness only
    assert c.cp is None and c.cpu is None
    assert round(c.cpk, 4) == round((1.6 - 1.4) / 0.15, 4)


@pytest.mark.parametrize("lsl,usl,sigma,words", [
    (None, None, 1.0, "no tolerance"),
    (2.0, 2.0, 1.0, "no width"),
    (3.0, 2.0, 1.0, "no width"),
    (1.0, 2.0, 0.0, "do not vary"),
])
def test_capability_refuses_what_has_no_meaning(lsl, usl, sigma, words):
    with pytest.raises(spc.NoTolerance, match=words):
        spc.capability(1.5, sigma, lsl, usl)


def test_xbar_r_limits_by_hand():
    # five subgroups of three: means 10, 11, 9, 10, 10 (grand 10); ranges 2, 2, 4, 2, 0 (R-bar 2)
    groups = [[9, 10, 11], [10, 11, 12], [7, 9, 11], [9, 10, 11], [10, 10, 10]]
    lim = spc.xbar_r(groups)
    assert lim.center == pytest.approx(10.0)
    assert lim.r_center == pytest.approx(2.0)
    assert lim.ucl == pytest.approx(10 + 1.023 * 2)
    assert lim.lcl == pytest.approx(10 - 1.023 * 2)
    assert lim.r_ucl == pytest.approx(2.574 * 2)
    assert lim.within == pytest.approx(2 / 1.693)
    assert lim.subgroup == 3


def test_too_few_points_or_uneven_subgroups_are_refused():
    with pytest.raises(spc.TooFewPoints, match="at least 5"):
        spc.individuals([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="differ in size"):
        spc.xbar_r([[1, 2], [1, 2, 3], [1, 2], [1, 2], [1, 2]])
    with pytest.raises(spc.NoVariation, match="do not vary"):
        spc.individuals([0.208] * 6)
    with pytest.raises(ValueError, match="2 to 10"):
        spc.xbar_r([[1.0] * 12] * 5)


# --- the run rules, each firing and each near miss ---------------------------------------------------

LIM = spc.Limits(center=0.0, ucl=3.0, lcl=-3.0, sigma=1.0, r_center=1.128, r_ucl=3.685, r_lcl=0.0, n=20)
CALM = [0.2, -0.3, 0.1, -0.2, 0.3, -0.1, 0.2, -0.3, 0.1, -0.2]  # alternates only ten times


def rules(values, ruleset="nelson"):
    return sorted({v.rule for v in spc.violations(values, LIM, ruleset)})


@pytest.mark.parametrize("series,rule", [
    ([0.1, 3.2], 1),
    ([0.5] * 9, 2),
    ([-1.2, -0.9, -0.5, 0.0, 0.4, 0.8], 3),
    ([0.5, -0.5] * 7, 4),
    ([2.5, 0.1, 2.2], 5),
    ([1.5, 1.2, -0.2, 1.1, 1.3], 6),
    ([0.3, -0.3, 0.2, 0.5, -0.2, 0.1, -0.4, 0.4, 0.6, -0.6, 0.2, 0.3, -0.1, 0.2, -0.5], 7),
    ([1.5, -1.5, 1.2, -1.2, 1.4, -1.3, 1.6, -1.1], 8),
])
def test_each_nelson_rule_fires(series, rule):
    assert rule in rules(series)


@pytest.mark.parametrize("series,rule", [
    ([0.1, 2.9], 1),
    ([0.5] * 8 + [-0.5], 2),
    ([-1.2, -0.9, -0.5, 0.0, 0.4, 0.3], 3),
    ([0.5, -0.5] * 6 + [0.5, 0.6], 4),
    ([2.5, 0.1, -2.2], 5),
    ([1.5, 1.2, -0.2, 0.9, 1.3], 6),
    ([0.3, -0.3, 0.2, 0.5, -0.2, 0.1, -0.4, 0.4, 0.6, -0.6, 0.2, 0.3, -0.1, 0.2, -1.5], 7),
    ([1.5, -1.5, 1.2, -1.2, 1.4, -0.3, 1.6, -1.1], 8),
])
def test_each_nelson_rule_stays_quiet_on_a_near_miss(series, rule):
    assert rule not in rules(series)


def test_calm_series_breaks_no_rule():
    assert rules(CALM) == [] and rules(CALM, "western-electric") == []


def test_western_electric_rules():
    assert rules([0.5] * 8, "western-electric") == [4]
    assert 4 not in rules([0.5] * 7, "western-electric")
    assert 2 in rules([2.5, 0.1, 2.2], "western-electric")
    assert 3 in rules([1.5, 1.2, -0.2, 1.1, 1.3], "western-electric")


def test_a_pattern_is_reported_where_it_completes_and_the_newest_point_alone_is_cheap():
    series = CALM + [0.5] * 9
    found = [v for v in spc.violations(series, LIM) if v.rule == 2]
    assert [v.index for v in found] == [len(series) - 1]
    last = spc.violations_at_last(series, LIM)
    assert [(v.rule, v.index) for v in last] == [(2, len(series) - 1), (7, len(series) - 1)]  # all within 1 sigma
    assert 2 not in {v.rule for v in spc.violations_at_last(series[:-1], LIM)}  # eight on one side only


@pytest.mark.parametrize("ruleset", ["nelson", "western-electric"])
def test_whole_series_rules_agree_with_the_rules_judged_point_by_point(ruleset):
    import random

    rng = random.Random(7)
    for trial in range(200):
        n = rng.randint(1, 60)
        drift = rng.choice([0.0, 0.05, -0.08])
        series = [round(rng.gauss(drift * i, rng.choice([0.5, 1.0, 1.5])), 1) for i in range(n)]
        if trial % 7 == 0:
            series = [0.5 if i % 2 else -0.5 for i in range(n)]  # alternating, exactly
        fast = spc.violations(series, LIM, ruleset)
        slow = spc.violations_one_by_one(series, LIM, ruleset)
        assert fast == sorted(slow, key=lambda v: (v.index, v.rule)), (trial, series)
