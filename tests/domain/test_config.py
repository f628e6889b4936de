"""The site config: the example loads; each kind of mistake gives `file:line: what is wrong`."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from config_helpers import copy_example, edit  # tests/ is on the path (pytest rootdir)

from floorkiosk.domain.config import load_site
from floorkiosk.errors import ConfigError
from floorkiosk.paths import example_config_dir


@pytest.fixture
def cfg(tmp_path):
    return copy_example(tmp_path / "config")


def problems(cfg: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_site(cfg)
    return exc.value.problems


def test_example_site_is_complete(site):
    assert {"custom-ring", "casting-line", "fabrication"} <= set(site.routes)
    ring = site.routes["custom-ring"]
    assert ring.stage_ids[:3] == ("consultation", "cad-approval", "wax-print")
    assert ring.stage_ids[-1] == "post-delivery-review"
    assert site.stages["stone-setting"].verify and site.stages["stone-setting"].needs("photo")
    assert ring.step("polishing").after == ("stone-setting",)
    fab = site.routes["fabrication"]
    assert set(fab.step("polishing").after) == {"stone-setting", "engraving"}  # parallel branches
    assert str(site.alloys["18KY"].fineness) == "0.75"
    assert site.settings.units == ("g", "dwt")
    assert any(b.qc for b in site.benches.values())


def test_unknown_stage_in_route(cfg):
    line = edit(cfg / "routes.toml", '{ stage = "polishing" },\n  { stage = "qc" },\n  { stage = "photography" }',
                '{ stage = "polishing" },\n  { stage = "qc" },\n  { stage = "fotography" }')
    probs = problems(cfg)
    assert any(p.startswith(f"{cfg / 'routes.toml'}:{line + 2}:") and "unknown stage 'fotography'" in p for p in probs), probs


def test_cycle_in_prerequisites(cfg):
    edit(cfg / "routes.toml", '{ stage = "fabrication" },', '{ stage = "fabrication", after = ["qc"] },')
    probs = problems(cfg)
    assert any("cycle" in p and "fabrication" in p for p in probs), probs
    line = (cfg / "routes.toml").read_text().splitlines().index('  { stage = "fabrication", after = ["qc"] },') + 1
    assert any(p.startswith(f"{cfg / 'routes.toml'}:{line}:") for p in probs), probs


def test_duplicate_badge(cfg):
    line = edit(cfg / "people.toml", 'badge = "B1002"', 'badge = "B1001"')
    probs = problems(cfg)
    assert probs == [f"{cfg / 'people.toml'}:{line}: badge 'B1001' of 'ben' is already 'ana''s badge"]


def test_badges_differing_only_in_case_are_one_badge(cfg):
    # a badge typed by hand is read whatever its case: b1001 and B1001 would be one person's
    line = edit(cfg / "people.toml", 'badge = "B1002"', 'badge = "b1001"')
    probs = problems(cfg)
    assert probs == [f"{cfg / 'people.toml'}:{line}: badge 'b1001' of 'ben' is already 'ana''s badge"]


def test_fineness_above_one(cfg):
    line = edit(cfg / "site.toml", "fineness = 0.750", "fineness = 750")
    probs = problems(cfg)
    assert len(probs) == 1 and probs[0].startswith(f"{cfg / 'site.toml'}:{line}: fineness of alloy '18KY'"), probs
    assert "at most 1" in probs[0]


def test_toml_syntax_error(cfg):
    line = edit(cfg / "people.toml", 'name = "Ana Costa"', 'name = "Ana Costa')
    probs = problems(cfg)
    assert len(probs) == 1 and probs[0].startswith(f"{cfg / 'people.toml'}:{line}: not valid TOML"), probs


@pytest.mark.parametrize("file,old,new,needle", [
    ("routes.toml", 'finish_evidence = ["weigh-out", "photo"]', 'finish_evidence = ["weigh-out", "selfie"]', "unknown evidence 'selfie'"),
    ("people.toml", 'roles = ["artisan"]', 'roles = ["boss"]', "unknown role 'boss'"),
    ("people.toml", 'skills = ["polishing", "plating"]', 'skills = ["polishing", "juggling"]', "skill 'juggling' that no stage needs"),
    ("site.toml", 'stages = ["cleanup", "fabrication"]', 'stages = ["cleanup", "welding"]', "serves unknown stage 'welding'"),
    ("site.toml", 'units = ["g", "dwt"]', 'units = ["g", "stone"]', "unknown weight unit 'stone'"),
    ("site.toml", "dpi = 300", "dpi = 250", "dpi must be 203, 300 or 600"),
    ("routes.toml", "max_loss_pct = 3.0", "max_loss_pct = 130", "between 0 and 100"),
    ("site.toml", "idle_logout_seconds = 300", 'idle_logout_seconds = "soon"', "'idle_logout_seconds' must be a whole number"),
    ("people.toml", 'pin = "2468"', 'pin = "24"', "pin must be 4 to 8 digits"),
])
def test_each_kind_of_mistake_names_its_line(cfg, file, old, new, needle):
    line = edit(cfg / file, old, new)
    probs = problems(cfg)
    hits = [p for p in probs if needle in p]
    assert hits, probs
    assert hits[0].startswith(f"{cfg / file}:{line}:"), hits


def test_missing_file(cfg):
    (cfg / "people.toml").unlink()
    assert problems(cfg) == [f"{cfg / 'people.toml'}:1: file is missing"]


def test_every_problem_is_reported_at_once(cfg):
    edit(cfg / "people.toml", 'badge = "B1002"', 'badge = "B1001"')
    edit(cfg / "site.toml", "fineness = 0.750", "fineness = 2")
    assert len(problems(cfg)) == 2


def test_cli_refuses_to_start_without_traceback(cfg, tmp_path):
    edit(cfg / "people.toml", 'badge = "B1002"', 'badge = "B1001"')
    site = tmp_path / "site"
    (site).mkdir()
    shutil.copytree(cfg, site / "config")
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(site), "job", "list"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "people.toml:" in r.stderr and "badge 'B1001'" in r.stderr and "nothing was started" in r.stderr
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "check", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2 and "people.toml:" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "check", str(example_config_dir())], capture_output=True, text=True)
    assert r.returncode == 0 and "ok" in r.stdout


def test_check_also_validates_the_metal_settings(cfg):
    line = edit(cfg / "site.toml", "[metal]\n", "[metal]\nbogus = 1\n") + 1
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "check", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2 and f"site.toml:{line}: unknown setting 'bogus' in [metal]" in r.stderr


def test_unknown_scale_profile(cfg):
    line = edit(cfg / "site.toml", 'profile = "ohaus"', 'profile = "ohaus-pro"')
    probs = problems(cfg)
    assert any(p.startswith(f"{cfg / 'site.toml'}:{line}: bench 'cleanup': no scale profile 'ohaus-pro'") for p in probs), probs
