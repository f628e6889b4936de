"""The package's structure holds: its layers (import-linter's contracts), no import cycle, no hidden
imports, no private names across packages, and nothing heavy loaded where it is not used.

Read from the source with the ast, so that an import inside a function or behind TYPE_CHECKING
counts like any other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import floorkiosk

SRC = Path(floorkiosk.__file__).parent
ROOT = "floorkiosk"


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an imported name lives in (a module, or the package that defines it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(mod: str, path: Path, tree: ast.Module | None = None) -> list[tuple[ast.stmt, str, list[str]]]:
    """(statement, the module imported from, the names taken) for every import of a project module."""
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(tree or ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == ROOT:
                    out.append((node, a.name, []))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] == ROOT:
                out.append((node, base, [a.name for a in node.names]))
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for _node, base, names in _imports(mod, path):
            targets = [_resolve(f"{base}.{n}") for n in names] if names else [_resolve(base)]
            for t in targets:
                # importing a submodule runs its package's __init__ first, which imports nothing of ours here
                if t and t != mod and not mod.startswith(t + "."):
                    graph[mod].add(t)
    return graph


def test_import_linter_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    # from the repository's root, where pyproject.toml holds the contracts (the package itself may be
    # installed elsewhere: it is the installed one that is analysed)
    run = subprocess.run([str(lint)], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "BROKEN" not in run.stdout and "KEPT" in run.stdout


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    done: set[str] = set()
    cycles = []

    def visit(mod: str, path: list[str]) -> None:
        if mod in path:
            cycles.append(" -> ".join(path[path.index(mod):] + [mod]))
            return
        if mod in done:
            return
        for dep in sorted(graph[mod]):
            visit(dep, path + [mod])
        done.add(mod)

    for mod in sorted(graph):
        visit(mod, [])
    return cycles


def test_no_import_cycle_between_the_projects_modules():
    assert _cycles(_graph()) == []


def test_the_cycle_check_sees_a_cycle_behind_a_function_local_import(tmp_path, monkeypatch):
    # the check itself must be able to fail: two modules that import each other, one inside a function
    (tmp_path / "a.py").write_text("def f():\n    import floorkiosk.fake_b  # hidden\n")
    (tmp_path / "b.py").write_text("from floorkiosk import fake_a\n")
    monkeypatch.setitem(MODULES, "floorkiosk.fake_a", tmp_path / "a.py")
    monkeypatch.setitem(MODULES, "floorkiosk.fake_b", tmp_path / "b.py")
    assert _cycles(_graph()) == ["floorkiosk.fake_a -> floorkiosk.fake_b -> floorkiosk.fake_a"]


def test_a_function_local_import_of_our_own_modules_says_why():
    unexplained = []
    for mod, path in MODULES.items():
        lines = path.read_text().splitlines()
        tree = ast.parse(path.read_text(), str(path))
        local = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for n in ast.walk(f)}
        for node, base, _names in _imports(mod, path, tree):
            if id(node) not in local:
                continue
            nearby = lines[node.lineno - 2: node.end_lineno]  # the line before, and the statement
            if not any("#" in line for line in nearby):
                unexplained.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {base}")
    assert unexplained == []


def test_no_module_imports_a_private_name_from_another_package():
    found = []
    for mod, path in MODULES.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node, base, names in _imports(mod, path):
            source = _resolve(base) or base
            source_package = source if MODULES.get(source, Path()).name == "__init__.py" else source.rpartition(".")[0]
            for n in names:
                if n.startswith("_") and source_package != package:
                    found.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {n} from {base}")
    assert found == []


def _loaded_by(code: str) -> set[str]:
    heavy = ("textual", "rich", "serial", "cv2", "psycopg", "zxingcpp", "fpdf")
    probe = code + f"; import sys; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    return set(out.split(",")) - {""}


@pytest.mark.parametrize("package,left_out", [("store", {"hub"}), ("workshop", {"sync"})])
def test_the_journal_and_the_trade_load_no_screen_library_and_no_hub_client(package, left_out):
    code = (f"import pkgutil, importlib, floorkiosk.{package} as p; "
            f"[importlib.import_module('floorkiosk.{package}.' + m.name) for m in pkgutil.iter_modules(p.__path__) "
            f"if m.name not in {sorted(left_out)!r}]")
    assert _loaded_by(code) & {"textual", "rich", "psycopg"} == set()


def test_opening_a_site_without_a_hub_loads_no_hub_client(tmp_path):
    code = (f"from floorkiosk.workshop.site import init_site, open_shop; "
            f"init_site({str(tmp_path / 'site')!r}); open_shop({str(tmp_path / 'site')!r}).close()")
    assert "psycopg" not in _loaded_by(code)


def test_nothing_imports_a_private_name_of_textual():
    """Textual's private names change between releases without notice: neither the kiosk nor its tests use one."""
    found = []
    for path in [*SRC.rglob("*.py"), *Path(__file__).parent.rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "textual":
                parts = (node.module or "").split(".") + [a.name for a in node.names]
                found += [f"{path.name}:{node.lineno}: {p}" for p in parts if p.startswith("_")]
            elif isinstance(node, ast.Import):
                found += [f"{path.name}:{node.lineno}: {a.name}" for a in node.names
                          if a.name.split(".")[0] == "textual" and any(p.startswith("_") for p in a.name.split("."))]
    assert found == []
