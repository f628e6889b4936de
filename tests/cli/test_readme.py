"""Every command the CLI has is in the README, where a newcomer looks for it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from floorkiosk.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [prefix]
    return [c for a in subs for name, p in a.choices.items() for c in _commands(p, prefix + (name,))]


def _in_readme(words: tuple[str, ...], text: str) -> bool:
    """`floorkiosk [--site X] a b`, or `a b` in a `floorkiosk …` line listing commands with `|`."""
    cmd = r"\s+".join(map(re.escape, words))
    if re.search(rf"floorkiosk(?:\s+--site\s+\S+)?\s+{cmd}(?![\w-])", text):
        return True
    for line in text.splitlines():
        if line.startswith("floorkiosk ") and re.search(rf"(?:^floorkiosk|\|)\s+{cmd}(?![\w-])", line.split("#")[0]):
            return True
    return False


def test_every_cli_command_appears_in_the_readme():
    commands = _commands(build_parser())
    assert len(commands) > 40 and ("metal", "tree", "cut") in commands
    text = README.read_text()
    missing = [" ".join(c) for c in commands if not _in_readme(c, text)]
    assert missing == []


def test_a_command_left_out_of_the_readme_is_found():
    text = "floorkiosk job add | job show\nfloorkiosk --site SHOP audit verify\n"
    assert _in_readme(("job", "show"), text) and _in_readme(("audit", "verify"), text)
    assert not _in_readme(("job", "list"), text) and not _in_readme(("audit",), "floorkiosk auditor")


def _parsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    yield prefix, parser
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, p in a.choices.items():
                yield from _parsers(p, prefix + (name,))


def test_every_command_and_group_prints_its_help(capsys):
    from floorkiosk.cli import main

    seen = 0
    for words, _ in _parsers(build_parser()):
        with pytest.raises(SystemExit) as done:
            main([*words, "--help"])
        assert done.value.code == 0, words
        assert "usage: floorkiosk" in capsys.readouterr().out, words
        seen += 1
    assert seen > 50  # the groups (qc, metal, metal tree …) as well as every command
