"""A typo never switches a guardrail off: every unknown key, wrong type, NaN, unserved stage and missing
supervisor PIN in the site config is an error at its `file:line`."""

import tomllib
from pathlib import Path

import pytest
from config_helpers import copy_example, edit, line_with, problems  # tests/ is on the path (pytest rootdir)

from floorkiosk.domain.config import load_site
from floorkiosk.domain.tomlread import Locator
from floorkiosk.paths import example_config_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cfg(tmp_path):
    return copy_example(tmp_path / "config")


def assert_reported(probs: list[str], path: Path, line: int, message: str) -> None:
    hits = [p for p in probs if p.startswith(f"{path}:{line}: ") and p.endswith(message)]
    assert hits, (f"{path}:{line}: ...{message}", probs)


@pytest.mark.parametrize("file,old,new,message", [
    # the issue's own examples: each of these silently dropped a guardrail
    ("routes.toml", "max_loss_pct = 3.0", "max_los_pct = 3.0",
     "unknown key 'max_los_pct' in [[stages]] (did you mean max_loss_pct?)"),
    ("routes.toml", 'checklist = ["sprue removed"', 'checklst = ["sprue removed"',
     "unknown key 'checklst' in [[stages]] (did you mean checklist?)"),
    ("people.toml", 'roles = ["supervisor"]', 'role = ["supervisor"]',
     "unknown key 'role' in [[people]] (did you mean roles?)"),
    ("people.toml", 'pin = "2468"', 'pn = "2468"', "unknown key 'pn' in [[people]] (did you mean pin?)"),
    # every other table of every file
    ("routes.toml", "verify = true", "verfy = true", "unknown key 'verfy' in [[stages]] (did you mean verify?)"),
    ("routes.toml", 'name = "Casting line"', 'nme = "Casting line"',
     "unknown key 'nme' in [[routes]] (did you mean name?)"),
    ("routes.toml", '{ stage = "stone-setting", after = ["cleanup"] }', '{ stage = "stone-setting", afer = ["cleanup"] }',
     "unknown key 'afer' in step 'stone-setting' of route 'fabrication' (did you mean after?)"),
    ("routes.toml", '[[stages]]\nid = "consultation"', '[[stage]]\nid = "consultation"',
     "unknown key 'stage' in routes.toml (did you mean stages?)"),
    ("people.toml", '[[people]]\nid = "ana"', '[[peple]]\nid = "ana"',
     "unknown key 'peple' in people.toml (did you mean people?)"),
    ("site.toml", "supervisor_pin = true", "supervisor_pn = true",
     "unknown key 'supervisor_pn' in [site] (did you mean supervisor_pin?)"),
    ("site.toml", "fineness = 0.999", "finenes = 0.999", "unknown key 'finenes' in [[alloys]] (did you mean fineness?)"),
    ("site.toml", 'text = "Client rush agreed with the manager"', 'txt = "Client rush agreed with the manager"',
     "unknown key 'txt' in [[override_reasons]] (did you mean text?)"),
    ("site.toml", 'stages = ["tree-building", "casting"]', 'stage = ["tree-building", "casting"]',
     "unknown key 'stage' in [[benches]] (did you mean stages?)"),
    ("site.toml", "qc = true", "qcc = true", "unknown key 'qcc' in [[benches]] (did you mean qc?)"),
    ("site.toml", "readability = 0.01", "readabilty = 0.01",
     "unknown key 'readabilty' in [benches.scale] (did you mean readability?)"),
    ("site.toml", 'language = "zpl"', 'langauge = "zpl"',
     "unknown key 'langauge' in [benches.printer] (did you mean language?)"),
    ("site.toml", 'source = "folder:demo-photos"', 'sorce = "folder:demo-photos"',
     "unknown key 'sorce' in [benches.camera] (did you mean source?)"),
    ("site.toml", '[[benches]]\nid = "design"', '[[benchs]]\nid = "design"',
     "unknown key 'benchs' in site.toml (did you mean benches?)"),
    ("qc.toml", "tolerance_pct = 1.0", "tolerance_pc = 1.0",
     "unknown key 'tolerance_pc' in [[plans.checks]] (did you mean tolerance_pct?)"),
    ("qc.toml", 'redo = "stone-setting"', 'redoo = "stone-setting"',
     "unknown key 'redoo' in [[defects]] (did you mean redo?)"),
    ("qc.toml", 'routes = ["custom-ring"]', 'route = ["custom-ring"]',
     "unknown key 'route' in [[plans]] (did you mean routes?)"),
    ("qc.toml", "carat_tolerance = 0.01", "carat_tolerence = 0.01",
     "unknown key 'carat_tolerence' in [stones] (did you mean carat_tolerance?)"),
    ("qc.toml", '[[defects]]\ncode = "LOOSE-STONE"', '[[defect]]\ncode = "LOOSE-STONE"',
     "unknown key 'defect' in qc.toml (did you mean defects?)"),
])
def test_an_unknown_key_is_an_error_at_its_line(cfg, file, old, new, message):
    line = edit(cfg / file, old, new)
    assert_reported(problems(cfg), cfg / file, line, message)


def test_an_unknown_key_like_no_known_one_lists_them(cfg):
    line = edit(cfg / "site.toml", 'name = "Atelier Demo"', 'name = "Atelier Demo"\ncolour = "gold"') + 1
    assert problems(cfg) == [f"{cfg / 'site.toml'}:{line}: unknown key 'colour' in [site] (known: hub, "
                             "idle_logout_seconds, name, scan_max_key_gap_ms, supervisor_pin, timezone, units)"]


def test_a_scanner_key_is_checked_too(cfg):
    with open(cfg / "site.toml", "a") as f:  # the last bench (dispatch) gets a scanner
        f.write('[benches.scanner]\ntype = "serial"\nurl = "/dev/ttyUSB0"\nsufix = "\\r"\nbaudrate = "9600"\n')
    n = len((cfg / "site.toml").read_text().splitlines())
    probs = problems(cfg)
    assert probs == [f"{cfg / 'site.toml'}:{n - 1}: unknown key 'sufix' in [benches.scanner] (did you mean suffix?)",
                     f"{cfg / 'site.toml'}:{n}: 'baudrate' must be a whole number, not '9600'"]


@pytest.mark.parametrize("file,old,new,message", [
    ("site.toml", 'url = "sim:mt-sics"', "url = 42", "'url' must be a string, not 42"),
    ("site.toml", 'name = "Atelier Demo"', "name = 42", "'name' must be a string, not 42"),
    ("site.toml", 'timezone = "UTC"', "timezone = 1", "'timezone' must be a string, not 1"),
    ("site.toml", 'source = "folder:demo-photos"', "source = []", "'source' must be a string or a whole number, not []"),
    ("site.toml", 'profile = "ohaus"', "profile = true", "'profile' must be a string, not True"),
    ("site.toml", 'timezone = "UTC"', 'timezone = "UTC"\nhub = false', "'hub' must be a postgresql:// address or empty, not False"),
    ("site.toml", 'language = "pdf"', 'language = "pdf"\ntemplate_size = 4', "'template_size' must be a string, not 4"),
])
def test_a_wrong_type_is_an_error_at_its_line(cfg, file, old, new, message):
    line = edit(cfg / file, old, new) + new.count("\n")
    assert_reported(problems(cfg), cfg / file, line, message)


@pytest.mark.parametrize("file,old,new,key,shown", [
    ("site.toml", "fineness = 0.750", "fineness = nan", "fineness", "nan"),
    ("routes.toml", "max_loss_pct = 3.0", "max_loss_pct = inf", "max_loss_pct", "inf"),
    ("site.toml", "readability = 0.01", "readability = -inf", "readability", "-inf"),
    ("qc.toml", "tolerance_pct = 1.0", "tolerance_pct = nan", "tolerance_pct", "nan"),
    ("qc.toml", "max = 2.0", "max = +inf", "max", "inf"),
    ("site.toml", "tolerance_pct = 1.0", "tolerance_pct = 1e400", "tolerance_pct", "inf"),  # [metal]: too big is inf
])
def test_nan_or_infinity_is_an_error_at_its_line(cfg, file, old, new, key, shown):
    line = edit(cfg / file, old, new)
    assert problems(cfg) == [f"{cfg / file}:{line}: {key!r} is {shown}: a number in the config must be finite "
                             "(not nan or inf)"]


def test_a_route_stage_no_bench_serves(cfg):
    edit(cfg / "site.toml", 'stages = ["packaging", "delivery", "post-delivery-review"]', 'stages = ["packaging", "delivery"]')
    line = line_with(cfg / "routes.toml", '{ stage = "post-delivery-review" }')
    assert problems(cfg) == [f"{cfg / 'routes.toml'}:{line}: route 'custom-ring' goes through stage "
                             "'post-delivery-review', which no bench serves: add it to a bench's stages in site.toml"]


def test_a_stage_of_several_routes_no_bench_serves_is_reported_once(cfg):
    edit(cfg / "site.toml", 'stages = ["cleanup", "fabrication"]', 'stages = ["fabrication"]')
    line = line_with(cfg / "routes.toml", '{ stage = "cleanup" }')  # custom-ring's, the first route through it
    probs = problems(cfg)
    assert probs == [f"{cfg / 'routes.toml'}:{line}: route 'custom-ring' (and 2 other routes) goes through stage "
                     "'cleanup', which no bench serves: add it to a bench's stages in site.toml"]


@pytest.mark.parametrize("file,text,needs", [
    ("site.toml", "", "its [[benches]] and [[alloys]]"),
    ("site.toml", "# nothing here yet\n\n", "its [[benches]] and [[alloys]]"),
    ("people.toml", "", "a [[people]] entry for each person"),
    ("people.toml", "# people.toml\n", "a [[people]] entry for each person"),
])
def test_an_empty_site_or_people_file(cfg, file, text, needs):
    (cfg / file).write_text(text)
    assert problems(cfg) == [f"{cfg / file}:1: {file} is empty: it must hold {needs}"]


def _line_of_person(cfg: Path, pid: str) -> int:
    return line_with(cfg / "people.toml", f'id = "{pid}"') - 1  # its [[people]] header


def test_a_supervisor_without_a_pin_when_pins_are_asked(cfg):
    edit(cfg / "people.toml", 'pin = "2468"\n', "")
    assert problems(cfg) == [f"{cfg / 'people.toml'}:{_line_of_person(cfg, 'eva')}: 'eva' has the supervisor role but "
                             "no pin, and [site] supervisor_pin is true: give them pin = \"…\" (4 to 8 digits)"]


def test_an_admin_without_a_pin_when_pins_are_asked(cfg):
    # an admin may do what a supervisor does, so the PIN guards them too
    edit(cfg / "people.toml", 'roles = ["supervisor", "admin"]\nskills = ["qc", "casting", "design"]\npin = "1357"\n',
         'roles = ["admin"]\nskills = ["qc", "casting", "design"]\n')
    assert problems(cfg) == [f"{cfg / 'people.toml'}:{_line_of_person(cfg, 'farid')}: 'farid' has the admin role but "
                             "no pin, and [site] supervisor_pin is true: give them pin = \"…\" (4 to 8 digits)"]


def test_a_supervisor_without_a_pin_when_pins_are_not_asked(cfg):
    edit(cfg / "people.toml", 'pin = "2468"\n', "")
    edit(cfg / "site.toml", "supervisor_pin = true", "supervisor_pin = false")
    site = load_site(cfg)
    assert site.people["eva"].pin is None and site.people["eva"].is_supervisor


def test_a_misspelt_pin_is_reported_twice_over(cfg):
    line = edit(cfg / "people.toml", 'pin = "2468"', 'pn = "2468"')
    probs = problems(cfg)
    assert len(probs) == 2
    assert probs[0] == f"{cfg / 'people.toml'}:{line}: unknown key 'pn' in [[people]] (did you mean pin?)"
    assert probs[1].startswith(f"{cfg / 'people.toml'}:{_line_of_person(cfg, 'eva')}: 'eva' has the supervisor role but no pin")


def test_the_example_and_every_test_config_load():
    folders = [example_config_dir()] + sorted(p.parent for p in (REPO / "tests").rglob("site.toml"))
    assert len(folders) >= 3
    for folder in folders:
        load_site(folder)


def test_the_locator_indexes_keys_by_path(tmp_path):
    text = (
        '[site]\r\n'
        'name = "A\u2028B"\r\n'  # a line separator str.splitlines() would break at: not a TOML line end
        'units = ["g"]\n'
        'note = """\n[[people]]\nid = "not a person"\n"""\n'
        'steps = [\n  { stage = "a" },\n  "[[people]]",\n]\n'
        '[[people]]  # the first\n'
        'id = "ana"\n'
        '"quoted key" = 1\n'
        '[[people]]\n'
        'id = "ben"\n'
        '[people.extra]\n'
        'x.y = 2\n'
        '[[people.badges]]\n'
        'code = "B1"\n'
    )
    assert tomllib.loads(text)["people"][1]["badges"] == [{"code": "B1"}]
    loc = Locator(tmp_path / "f.toml", text)
    assert loc.line_of("site", "units") == 3
    assert loc.header("people", 0) == 12 and loc.header("people", 1) == 15
    assert loc.line_of("people", 0, "quoted key") == 14
    assert loc.line_of("people", 1, "id") == 16
    assert loc.line_of("people", 1, "extra", "x", "y") == 18
    assert loc.line_of("people", 1, "badges", 0, "code") == 20
    assert loc.line_of("people", 1, "pin") == 15  # not there: the entry's header
    assert loc.line_of("site", "steps", 2) == 8 and loc.line_of("nowhere") == 1
    assert loc.find_in("people", 0, "id") == 13
