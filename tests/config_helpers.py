"""Config files in tests: a copy of the example to change one line of (knowing which line), a generated
site of any size, and the problems a load or `floorkiosk check` reports."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from floorkiosk.paths import example_config_dir


def copy_example(dst: Path) -> Path:
    shutil.copytree(example_config_dir(), dst)
    return dst


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` with `new`; return the 1-based line where the new text starts."""
    text = path.read_text()
    assert old in text, old
    idx = text.index(old)
    path.write_text(text.replace(old, new, 1))
    return text[:idx].count("\n") + 1 + new[: len(new) - len(new.lstrip("\n"))].count("\n")


def problems(cfg: Path) -> list[str]:
    """The problems loading `cfg` reports (it must fail)."""
    import pytest

    from floorkiosk.domain.config import load_site
    from floorkiosk.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_site(cfg)
    return exc.value.problems


def line_with(path: Path, text: str) -> int:
    """The 1-based line of the first occurrence of `text` in the file."""
    whole = path.read_text()
    assert text in whole, text
    return whole[: whole.index(text)].count("\n") + 1


def check_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`floorkiosk ARGS…` in a process of its own, as a person runs it."""
    return subprocess.run([sys.executable, "-m", "floorkiosk", *args], capture_output=True, text=True,
                          timeout=timeout)


def write_site(folder: Path, *, people: int, benches: int, routes: int, stages: int = 60) -> Path:
    """A generated site of that size: every route's stages served, every supervisor with a PIN."""
    folder.mkdir(parents=True, exist_ok=True)
    out = ['[site]\nname = "Generated"\nunits = ["g", "dwt"]\nsupervisor_pin = true\n',
           '[[alloys]]\ncode = "18KY"\nname = "18K yellow gold"\nmetal = "Au"\nfineness = 0.750\n']
    for b in range(benches):
        out.append(f'[[benches]]\nid = "bench-{b}"\nname = "Bench {b}"\n'
                   f'stages = ["stage-{b % stages}", "stage-{(b + 1) % stages}"]\n'
                   '[benches.scale]\nurl = "sim:mt-sics"\nprofile = "mt-sics"\nreadability = 0.01\n')
    (folder / "site.toml").write_text("\n".join(out))
    out = []
    for s in range(stages):
        out.append(f'[[stages]]\nid = "stage-{s}"\nname = "Stage {s}"\nskill = "skill-{s % 12}"\n'
                   'start_evidence = ["weigh-in"]\nfinish_evidence = ["weigh-out"]\nmax_loss_pct = 2.0\n'
                   'checklist = ["clean", "weighed"]\n')
    for r in range(routes):
        steps = ",\n".join(f'  {{ stage = "stage-{(r + 5 * k) % stages}" }}' for k in range(12))
        out.append(f'[[routes]]\nid = "route-{r}"\nname = "Route {r}"\nsteps = [\n{steps},\n]\n')
    (folder / "routes.toml").write_text("\n".join(out))
    out = []
    for p in range(people):
        boss = p % 40 == 0
        out.append(f'[[people]]\nid = "person-{p}"\nname = "Person {p}"\nbadge = "B{p:06d}"\n'
                   f'roles = ["{"supervisor" if boss else "artisan"}"]\n'
                   f'skills = ["skill-{p % 12}", "skill-{(p + 5) % 12}"]\n' + (f'pin = "{1000 + p}"\n' if boss else ""))
    (folder / "people.toml").write_text("\n".join(out))
    return folder
