"""`floorkiosk metal …` end to end on a real site, and the [metal] settings validated with file:line."""

import shutil

import pytest

from floorkiosk.cli import main
from floorkiosk.domain.config import load_site
from floorkiosk.errors import ConfigError
from floorkiosk.workshop.metal import metal_settings
from floorkiosk.paths import example_config_dir


@pytest.fixture
def site(tmp_path):
    from floorkiosk.workshop.site import init_site

    d = tmp_path / "site"
    init_site(d, origin="cli-test")
    return str(d)


def run(site, *args):
    return main(["--site", site, *args])


def test_a_lot_through_the_cli(site, capsys):
    assert run(site, "metal", "receive", "18KY", "100", "--supplier", "Bullion House") == 0
    assert "L0001: 100 g 18KY received into stock" in capsys.readouterr().out
    assert run(site, "metal", "issue", "18KY", "2", "--unit", "ozt", "--bench", "casting", "--to", "ana") == 0
    assert run(site, "metal", "return", "18KY", "10", "--category", "clean", "--bench", "casting", "--person", "ana") == 0
    assert run(site, "metal", "refine", "18KY", "1.5", "--category", "sweeps") == 0
    assert "R0001: 1.5 g 18KY sweeps sent to the refiner" in capsys.readouterr().out
    assert run(site, "metal", "balance", "--by", "person") == 0
    out = capsys.readouterr().out
    # 2 ozt = 62.206954 g issued, 10 g back: 52.206954 g held, 39.155 g fine (18K)
    assert "ana" in out and "52.207 g" in out and "39.155 g" in out
    assert "stock (safe)" in out and "46.293 g" in out  # 100 - 62.206954 + 10 - 1.5
    assert run(site, "metal", "reconcile", "--by", "bench") == 0
    out = capsys.readouterr().out
    assert "by bench" in out and "casting" in out and "62.207" in out


def test_cli_refuses_bad_input_with_a_clear_message(site, capsys):
    assert run(site, "metal", "receive", "19K", "100") == 2
    assert "unknown alloy '19K'" in capsys.readouterr().err
    assert run(site, "metal", "receive", "18KY", "-3") == 2
    assert "cannot be negative" in capsys.readouterr().err
    assert run(site, "metal", "reconcile", "--from", "last monday") == 2
    assert "'last monday' is not a date" in capsys.readouterr().err
    assert run(site, "metal", "tree", "cut", "T0001", "--piece", "J1", "--bench", "casting", "--by", "ana") == 2
    assert "must be JOB=WEIGHT" in capsys.readouterr().err
    assert run(site, "metal", "balance") == 0  # and nothing was recorded
    assert "stock (safe)" not in capsys.readouterr().out


def test_trees_through_the_cli(site, capsys):
    run(site, "metal", "receive", "14KY", "200")
    run(site, "metal", "issue", "14KY", "50", "--bench", "casting", "--to", "ana")
    for _ in range(2):
        run(site, "job", "add", "--route", "casting-line", "--design", "Stacking ring", "--alloy", "14KY",
            "--due", "2099-12-24")
    capsys.readouterr()
    assert run(site, "metal", "tree", "build", "J000001", "J000002", "--bench", "casting", "--by", "ana") == 0
    assert "T0001: 2 pieces on the tree" in capsys.readouterr().out
    assert run(site, "metal", "tree", "cast", "T0001", "--metal-in", "30", "--tree-weight", "29.9", "--bench", "casting",
               "--by", "ana") == 0
    assert run(site, "metal", "tree", "cut", "T0001", "--piece", "J000001=6.00", "--piece", "J000002=6.10",
               "--sprue", "15.40", "--buttons", "2.10", "--bench", "casting", "--by", "ana") == 0
    out = capsys.readouterr().out
    # 30 in; 12.10 + 15.40 + 2.10 = 29.60 back: 0.40 g lost
    assert "T0001 cut off: 2 pieces 12.100 g, sprue 15.400 g, buttons 2.100 g, loss 0.400 g" in out
    assert run(site, "metal", "tree", "list") == 0
    assert "YVR 98.7%" in capsys.readouterr().out  # 29.60 / 30


def _site_copy(tmp_path, text_edit):
    d = tmp_path / "cfg"
    shutil.copytree(example_config_dir(), d)
    p = d / "site.toml"
    p.write_text(text_edit(p.read_text()))
    return d, p


def test_casting_method_is_validated_with_its_line(tmp_path):
    d, p = _site_copy(tmp_path, lambda t: t.replace('casting_method = "vacuum"', 'casting_method = "gravity"'))
    line = next(i for i, text in enumerate(p.read_text().splitlines(), 1) if "gravity" in text)
    with pytest.raises(ConfigError) as exc:
        metal_settings(load_site(d))
    assert exc.value.problems == [f"{p}:{line}: bench 'casting': casting_method must be centrifugal or vacuum, not 'gravity'"]


def test_metal_settings_are_validated_with_their_lines(tmp_path):
    d, p = _site_copy(tmp_path, lambda t: t.replace("tolerance_pct = 1.0", "tolerance_pct = \"one\"")
                      .replace('"tree-building"]', '"tree-building", "waxing"]') + "colour = 'gold'\n")
    lines = p.read_text().splitlines()
    at = {key: next(i for i, text in enumerate(lines, 1) if text.startswith(key)) for key in ("tolerance_pct", "wax_stages", "colour")}
    with pytest.raises(ConfigError) as exc:
        metal_settings(load_site(d))
    assert exc.value.problems == [
        f"{p}:{at['colour']}: unknown setting 'colour' in [metal]; known: casting_stage, tolerance_pct, wax_stages",
        f"{p}:{at['tolerance_pct']}: 'tolerance_pct' must be a number between 0 and 100, not 'one'",
        f"{p}:{at['wax_stages']}: wax_stages names 'waxing', which is not a stage in routes.toml",
    ]


def test_the_example_site_settings():
    s = metal_settings(load_site(example_config_dir()))
    assert s.casting_methods == {"casting": "vacuum"}
    assert "tree-building" in s.wax_stages and "casting" not in s.wax_stages
    assert str(s.tolerance_pct) == "1.0" and str(s.readability["casting"]) == "0.01"
    assert s.delivery == {"custom-ring": "delivery", "casting-line": "packaging", "fabrication": "packaging"}
