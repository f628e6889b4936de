"""No input makes the config loader raise anything but ConfigError: a folder or a pipe where a file should be,
an unreadable file, bad UTF-8, nesting deeper than the parser goes, numbers too long to read, a very long
route. Each is `file:line: what is wrong`, and `floorkiosk check` prints it and exits 2, no traceback."""

import os
import pathlib
import shutil

import pytest
from config_helpers import check_cli, copy_example, edit, problems  # tests/ is on the path (pytest rootdir)

from floorkiosk.domain.config import load_site


@pytest.fixture
def cfg(tmp_path):
    return copy_example(tmp_path / "config")


def folder_in_place_of_site(cfg):
    (cfg / "site.toml").unlink()
    (cfg / "site.toml").mkdir()
    return cfg / "site.toml", 1, "is a folder, not a file"


def deep_nesting(cfg):
    line = edit(cfg / "site.toml", 'units = ["g", "dwt"]', "units = " + "[" * 3000 + "]" * 3000)
    return cfg / "site.toml", line, "not readable: arrays or tables nested too deeply"


def deep_inline_tables(cfg):
    line = edit(cfg / "qc.toml", "sample = { percent = 20, min = 2 }", "sample = " + "{ a = " * 2000 + "1" + " }" * 2000)
    return cfg / "qc.toml", line, "not readable: arrays or tables nested too deeply"


def bad_utf8(cfg):
    p = cfg / "people.toml"
    line = edit(p, 'name = "Ana Costa"', 'name = "Ana Costa"')
    p.write_bytes(p.read_bytes().replace(b'"Ana Costa"', b'"Ana \xff Costa"'))
    return p, line, "not valid UTF-8 (byte 0xff at column 13): save the file as UTF-8"


def a_number_too_long_to_read(cfg):
    line = edit(cfg / "site.toml", "idle_logout_seconds = 300", "idle_logout_seconds = 3" + "0" * 5000)
    return cfg / "site.toml", line, "not valid TOML: a number of 5001 digits is too long to read"


def nan_fineness(cfg):
    line = edit(cfg / "site.toml", "fineness = 0.750", "fineness = nan")
    return cfg / "site.toml", line, "'fineness' is nan: a number in the config must be finite (not nan or inf)"


def unknown_key(cfg):
    line = edit(cfg / "routes.toml", "max_loss_pct = 3.0", "max_los_pct = 3.0")
    return cfg / "routes.toml", line, "unknown key 'max_los_pct' in [[stages]] (did you mean max_loss_pct?)"


def qc_unit_a_list(cfg):
    line = edit(cfg / "qc.toml", 'unit = "deg"', 'unit = ["deg"]')
    return cfg / "qc.toml", line, "plan 'setting', check 'alignment': unit ['deg'] must be one of mm, µm (um), deg"


def unterminated_at_the_end(cfg):
    with open(cfg / "people.toml", "a") as f:
        f.write('notes = """left open\n\n')
    line = len((cfg / "people.toml").read_text().splitlines()) - 1
    return cfg / "people.toml", line, "not valid TOML: Unterminated string"


def left_open_before_the_end(cfg):
    # a list left open near the end of site.toml, with comments after it: the parser says "at end of
    # document"; the line to fix is the one that opened it, not the file's last
    with open(cfg / "site.toml", "a") as f:
        f.write('\n[benches.notes]\nsame = ["alloy",\n  "route",\n# the next stage too?\n\n# end of the site\n')
    line = (cfg / "site.toml").read_text().splitlines().index('same = ["alloy",') + 1
    return cfg / "site.toml", line, "not valid TOML: "


def string_left_open_before_the_end(cfg):
    with open(cfg / "site.toml", "a") as f:
        f.write('\nnotes = """the rest of the file is in this string\n[metal.more]\nx = 1\n\n')
    line = (cfg / "site.toml").read_text().splitlines().index('notes = """the rest of the file is in this string') + 1
    return cfg / "site.toml", line, "not valid TOML: Unterminated string"


BAD = [folder_in_place_of_site, deep_nesting, deep_inline_tables, bad_utf8, a_number_too_long_to_read, nan_fineness,
       qc_unit_a_list, unterminated_at_the_end, left_open_before_the_end, string_left_open_before_the_end]


@pytest.mark.parametrize("spoil", BAD, ids=lambda f: f.__name__)
def test_a_bad_input_is_one_located_problem(cfg, spoil):
    path, line, message = spoil(cfg)
    probs = problems(cfg)
    assert any(p.startswith(f"{path}:{line}: {message}") for p in probs), probs


@pytest.mark.parametrize("spoil", BAD + [unknown_key], ids=lambda f: f.__name__)
def test_check_prints_it_and_exits_2_without_a_traceback(cfg, spoil):
    path, line, message = spoil(cfg)
    r = check_cli("check", str(cfg))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert f"{path}:{line}: {message}" in r.stderr


def test_a_command_that_opens_the_site_refuses_to_start(cfg, tmp_path):
    path, line, message = deep_nesting(cfg)
    site = tmp_path / "site"
    site.mkdir()
    shutil.copytree(cfg, site / "config", symlinks=True)
    r = check_cli("--site", str(site), "job", "list")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{site / 'config' / 'site.toml'}:{line}: {message}" in r.stderr and "nothing was started" in r.stderr


def test_a_pipe_in_place_of_a_file_is_not_read(cfg):
    # reading a pipe would wait for a writer forever: the kiosk would hang at start-up
    (cfg / "people.toml").unlink()
    os.mkfifo(cfg / "people.toml")
    r = check_cli("check", str(cfg), timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{cfg / 'people.toml'}:1: is not a regular file (a device or a pipe?)" in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode: see the test below")
def test_an_unreadable_file(cfg):
    (cfg / "routes.toml").chmod(0)
    assert problems(cfg) == [f"{cfg / 'routes.toml'}:1: cannot be read: Permission denied"]
    r = check_cli("check", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "routes.toml:1: cannot be read" in r.stderr


def test_a_file_the_system_refuses_to_read(cfg, monkeypatch):
    # what chmod 000 does for anyone but root (the tests may run as root): the open fails
    target = cfg / "routes.toml"
    real_bytes, real_text = pathlib.Path.read_bytes, pathlib.Path.read_text

    def refuse(real):
        def read(self, *args, **kwargs):
            if self == target:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)
        return read

    monkeypatch.setattr(pathlib.Path, "read_bytes", refuse(real_bytes))
    monkeypatch.setattr(pathlib.Path, "read_text", refuse(real_text))
    assert problems(cfg) == [f"{target}:1: cannot be read: Permission denied"]


def test_a_broken_link_in_place_of_a_file(cfg):
    (cfg / "people.toml").unlink()
    (cfg / "people.toml").symlink_to(cfg / "no-such-file.toml")
    assert problems(cfg) == [f"{cfg / 'people.toml'}:1: file is missing"]


def test_a_route_longer_than_the_recursion_limit(tmp_path):
    # each step written before the one it comes after: the prerequisites go 3,000 deep
    n = 3000
    cfg = tmp_path / "config"
    cfg.mkdir()
    stages = [f"s{i}" for i in range(n)]
    (cfg / "site.toml").write_text('[[benches]]\nid = "all"\nstages = [' + ", ".join(f'"{s}"' for s in stages) + "]\n")
    (cfg / "people.toml").write_text('[[people]]\nid = "ana"\nbadge = "B1"\nskills = ["s0"]\n')
    steps = ",\n".join(f'  {{ stage = "s{i}", after = ["s{i + 1}"] }}' for i in range(n - 1))
    (cfg / "routes.toml").write_text("".join(f'[[stages]]\nid = "{s}"\n' for s in stages)
                                     + f'[[routes]]\nid = "long"\nsteps = [\n{steps},\n  {{ stage = "s{n - 1}", after = [] }},\n]\n')
    site = load_site(cfg)
    assert len(site.routes["long"].steps) == n
    # and a cycle that long is found
    text = (cfg / "routes.toml").read_text().replace(f'{{ stage = "s{n - 1}", after = [] }}', f'{{ stage = "s{n - 1}", after = ["s0"] }}')
    (cfg / "routes.toml").write_text(text)
    probs = problems(cfg)
    assert len(probs) == 1 and "prerequisites form a cycle: s0 -> s1 -> s2" in probs[0] and probs[0].endswith("-> s0"), probs[0][-200:]
