"""qc.toml is validated with the rest of the config: each mistake as file:line, and nothing starts."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from config_helpers import copy_example, edit  # tests/ is on the path (pytest rootdir)

from floorkiosk.domain.config import load_site
from floorkiosk.errors import ConfigError


@pytest.fixture
def cfg(tmp_path):
    return copy_example(tmp_path / "config")


def problems(cfg: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_site(cfg)
    return exc.value.problems


def at(cfg: Path, line: int) -> str:
    return f"{cfg / 'qc.toml'}:{line}:"


def test_unknown_defect_code_in_a_check(cfg):
    line = edit(cfg / "qc.toml", 'defects = ["THIN-SHANK"]', 'defects = ["THIN-SHNAK"]')
    probs = problems(cfg)
    assert any(p.startswith(at(cfg, line)) and "unknown defect code 'THIN-SHNAK'" in p for p in probs), probs


def test_min_above_max(cfg):
    line = edit(cfg / "qc.toml", "min = 0.1\nmax = 0.5", "min = 0.6\nmax = 0.5")
    probs = problems(cfg)
    assert any(p.startswith(at(cfg, line)) and "min 0.6 is above max 0.5" in p for p in probs), probs


def test_plan_for_an_unknown_stage(cfg):
    line = edit(cfg / "qc.toml", 'stage = "stone-setting"\n', 'stage = "stone-seting"\n')
    probs = problems(cfg)
    assert any(p.startswith(at(cfg, line)) and "stage 'stone-seting' is not a stage" in p for p in probs), probs


def test_plan_for_a_stage_no_inspection_runs(cfg):
    line = edit(cfg / "qc.toml", 'stage = "stone-setting"\n', 'stage = "cleanup"\n')
    probs = problems(cfg)
    assert any(p.startswith(at(cfg, line)) and "neither verified" in p for p in probs), probs


def test_weight_check_without_tolerance(cfg):
    line = edit(cfg / "qc.toml", "kind = \"weight\"\ntolerance_pct = 1.0\n", "kind = \"weight\"\n")
    probs = problems(cfg)
    # reported at the check's [[plans.checks]] header, two lines above its kind
    assert any(p.startswith(at(cfg, line - 3)) and "needs tolerance_pct above 0" in p for p in probs), probs


def test_misspelt_key_and_bad_sample(cfg):
    line = edit(cfg / "qc.toml", "tolerance = 0.25", "tolerence = 0.25")
    line2 = edit(cfg / "qc.toml", "sample = { percent = 20, min = 2 }", "sample = { percent = 0, min = 2 }")
    probs = problems(cfg)
    assert any(p.startswith(at(cfg, line)) and "unknown key 'tolerence'" in p for p in probs), probs
    assert any(p.startswith(at(cfg, line2)) and "percent must be above 0" in p for p in probs), probs


def test_defect_redone_at_an_unknown_stage(cfg):
    line = edit(cfg / "qc.toml", 'redo = "plating"', 'redo = "plateing"')
    probs = problems(cfg)
    assert any(p.startswith(at(cfg, line)) and "redo stage 'plateing'" in p for p in probs), probs


def test_route_not_through_the_plan_stage(cfg):
    line = edit(cfg / "qc.toml", 'stage = "qc"\nroutes = ["custom-ring"]', 'stage = "qc"\nroutes = ["custom-rings"]')
    probs = problems(cfg)
    assert any(p.startswith(at(cfg, line + 1)) and "unknown route 'custom-rings'" in p for p in probs), probs


def test_not_toml_at_all(cfg):
    (cfg / "qc.toml").write_text("[[defects]]\ncode = LOOSE\n")
    probs = problems(cfg)
    assert probs and probs[0].startswith(at(cfg, 2)) and "not valid TOML" in probs[0]


def test_a_bad_qc_toml_refuses_to_start(cfg, tmp_path):
    from floorkiosk.workshop.site import open_shop

    good = subprocess.run([sys.executable, "-m", "floorkiosk", "check", str(cfg)], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    site = tmp_path / "site"
    (site / "config").mkdir(parents=True)
    for f in cfg.iterdir():
        shutil.copy2(f, site / "config" / f.name)
    edit(site / "config" / "qc.toml", 'code = "SCRATCH"', 'code = "scratch"')
    with pytest.raises(ConfigError):
        open_shop(site)
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(site), "qc", "plans"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "defect code 'scratch' must be upper-case" in r.stderr and "nothing was started" in r.stderr
    assert not (site / "journal.db").exists()


def test_spc_section_mistakes_are_named_by_line(cfg):
    qc = cfg / "qc.toml"
    text = qc.read_text()
    assert "[spc]" in text
    lines = text.splitlines()
    base = lines.index("[spc]") + 1  # 1-based line of the header
    qc.write_text(text.replace('baseline = 20', 'baseline = 3').replace('rules = "nelson"', 'rules = "nelsen"')
                  .replace("hold_on_drift = []", 'hold_on_drift = ["castng"]\nholdondrift = true'))
    got = problems(cfg)
    assert any(p.startswith(at(cfg, base + 1)) and "baseline must be a whole number of points from 5" in p for p in got)
    assert any(p.startswith(at(cfg, base + 2)) and "rules must be one of nelson, western-electric" in p for p in got)
    assert any(p.startswith(at(cfg, base + 3)) and "'castng', which is not a stage" in p for p in got)
    assert any(p.startswith(at(cfg, base + 4)) and "holdondrift" in p for p in got)


def test_spc_section_as_shipped_loads(cfg):
    from floorkiosk.domain import qc as dq

    site = load_site(cfg)
    assert dq.qc_config(site).spc == dq.SpcRules(20, "nelson", ())
