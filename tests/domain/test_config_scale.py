"""Loading a site takes time in proportion to its size: a big workshop's config is validated in a moment."""

import time

from config_helpers import edit, problems, write_site  # tests/ is on the path (pytest rootdir)

from floorkiosk.domain.config import load_site


def test_thousands_of_people_load_in_a_moment(tmp_path):
    # 4,000 people took about 40 s when each entry's line was looked for from the top of its file;
    # it is now under 0.5 s here, most of it tomllib's; 3 s leaves room for a busy machine
    cfg = write_site(tmp_path / "config", people=4000, benches=120, routes=80)
    t0 = time.perf_counter()
    site = load_site(cfg)
    took = time.perf_counter() - t0
    assert len(site.people) == 4000 and len(site.benches) == 120 and len(site.routes) == 80
    assert took < 3.0, f"{took:.2f} s"


def test_a_mistake_in_a_big_site_is_found_at_its_line(tmp_path):
    cfg = write_site(tmp_path / "config", people=4000, benches=120, routes=80)
    line = edit(cfg / "people.toml", 'id = "person-3999"\nname = "Person 3999"', 'id = "person-3999"\nnme = "Person 3999"') + 1
    t0 = time.perf_counter()
    probs = problems(cfg)
    took = time.perf_counter() - t0
    assert probs == [f"{cfg / 'people.toml'}:{line}: unknown key 'nme' in [[people]] (did you mean name?)"]
    assert took < 3.0, f"{took:.2f} s"
