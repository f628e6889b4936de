"""planning.toml and people.toml capacity: bad input refused as file:line, good input read."""

from __future__ import annotations

from datetime import date

import pytest
from config_helpers import copy_example, edit, problems

from floorkiosk.domain.config import load_site


@pytest.fixture
def cfg(tmp_path):
    return copy_example(tmp_path / "config")


def test_the_example_planning_is_read(cfg):
    p = load_site(cfg).planning
    assert p.calendar.days == (0, 1, 2, 3, 4) and p.calendar.day_minutes == 8 * 60
    assert date(2026, 12, 25) in p.calendar.holidays
    assert p.capacity["ben"] == {"setting": 30.0, "cleanup": 8.0}
    assert p.standard_hours["stone-setting"] == 3.0 and p.rates["setting"] == 65.0


def test_a_rate_may_say_it_is_per_hour_and_the_currency_is_read(cfg):
    edit(cfg / "planning.toml", "setting = 65.0", 'setting = "65/h"')
    edit(cfg / "planning.toml", 'currency = "EUR"', 'currency = "CHF"')
    p = load_site(cfg).planning
    assert p.rates["setting"] == 65.0 and p.currency == "CHF"


def test_without_planning_toml_the_shop_works_monday_to_friday_nine_to_five(cfg):
    (cfg / "planning.toml").unlink()
    p = load_site(cfg).planning
    assert p.calendar.full_week_hours == 40 and p.standard_hours == {}


@pytest.mark.parametrize("old, new, said", [
    ("capacity = { setting = 30, cleanup = 8 }", "capacity = { setting = 40, cleanup = 8 }",
     "'ben': declares 48 hours, more than the 40 working hours of a working week"),
    ("capacity = { setting = 30, cleanup = 8 }", "capacity = { setting = 30, enamel = 8 }",
     "'ben': unknown skill 'enamel'"),
    ("capacity = { setting = 30, cleanup = 8 }", "capacity = { setting = 30, qc = 8 }",
     "'ben': has no skill 'qc' in people.toml"),
    ("capacity = { setting = 30, cleanup = 8 }", "capacity = { setting = -3 }",
     "'ben': hours of 'setting' must be a number of 0 or more, not -3"),
    ("capacity = { setting = 30, cleanup = 8 }", 'capacity = "lots"', "'ben': capacity must be a table"),
])
def test_a_bad_capacity_is_refused_at_its_line(cfg, old, new, said):
    line = edit(cfg / "people.toml", old, new)
    got = problems(cfg)
    assert got == [f"{cfg / 'people.toml'}:{line}: {got[0].split(': ', 1)[1]}"] and said in got[0]


@pytest.mark.parametrize("old, new, said", [
    ("setting = 65.0", "setting = -65.0", "the rate of 'setting' must be a cost per hour of 0 or more, not -65.0"),
    ("setting = 65.0", "enamel = 65.0", "[rates] names skill 'enamel', which no stage needs"),
    ("setting = 65.0", 'setting = "520/day"', "the rate of 'setting' is given per 'day': rates are a cost per hour"),
    ("setting = 65.0", 'setting = "lots"', "the rate of 'setting' must be a cost per hour such as 65"),
    ('currency = "EUR"', 'currency = "euro"', "'currency' must be a three-letter code"),
    ('currency = "EUR"', 'currancy = "EUR"', "unknown key 'currancy' in [costs]"),
    ('hours = "09:00-17:00"', 'hours = "17:00-09:00"', "'hours' must be opening and closing time"),
    ('hours = "09:00-17:00"', 'hours = "9 to 5"', "'hours' must be opening and closing time"),
    ('days = ["mon", "tue", "wed", "thu", "fri"]', 'days = ["mon", "funday"]', "'days' must be a list of weekdays"),
    ('"2026-12-24", ', '"2026-13-24", ', "holiday '2026-13-24' is not a date"),
    ("stone-setting = 3.0", "stone-setting = 0", "standard hours of 'stone-setting' must be a number of hours above 0"),
    ("stone-setting = 3.0", "stone-seting = 3.0", "[standard_hours] names stage 'stone-seting', which is not in routes.toml"),
    ("time_limit_s = 3.0", "time_limit_s = -1", "'time_limit_s' must be a number of at least 0.1"),
    ("time_limit_s = 3.0", "time_limt_s = 3.0", "unknown key 'time_limt_s' in [planning] (did you mean time_limit_s?)"),
])
def test_a_bad_planning_toml_is_refused_at_its_line(cfg, old, new, said):
    line = edit(cfg / "planning.toml", old, new)
    got = problems(cfg)
    assert len(got) == 1 and got[0].startswith(f"{cfg / 'planning.toml'}:{line}: ") and said in got[0], got
