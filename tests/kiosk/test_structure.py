"""The kiosk's modules import one another one way only: the app imports the screens, never the reverse.

Read from the source (every import, also one inside a function). That no module of the package is in
an import cycle is tests/test_architecture.py's.
"""

from __future__ import annotations

import ast
from pathlib import Path

import floorkiosk.kiosk

KIOSK = Path(floorkiosk.kiosk.__file__).parent
PACKAGE = "floorkiosk.kiosk"


def _imports(path: Path) -> set[str]:
    """The kiosk modules this file imports, anywhere in it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out |= {n.removeprefix(PACKAGE + ".").split(".")[0] for n in names if n.startswith(PACKAGE + ".")}
    return out - {path.stem}


def _graph() -> dict[str, set[str]]:
    mods = {p.stem for p in KIOSK.glob("*.py")}
    return {p.stem: _imports(p) & mods for p in KIOSK.glob("*.py")}


def test_only_the_app_imports_the_app_and_no_dialog_or_flow_imports_a_screen_module():
    graph = _graph()
    assert [m for m, deps in graph.items() if "app" in deps] == []
    for mod in ("flows", "dialogs"):
        assert not graph[mod] & {"app", "screens"}, mod


def test_no_import_hides_behind_type_checking():
    for path in KIOSK.glob("*.py"):
        assert "TYPE_CHECKING" not in path.read_text(), path.name
