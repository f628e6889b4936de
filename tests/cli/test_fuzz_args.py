"""Every command and verb, given arguments that are not UTF-8 (bytes from a broken terminal or a script):
a usage error that names the argument, exit 2, no traceback, nothing changed."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from floorkiosk.cli import build_parser

# Not UTF-8: a lone 0xff, a broken two-byte sequence, Latin-1 text, a job number with a stray byte.
BAD = [b"\xff", b"\xc3\x28", b"caf\xe9", b"J00\xfe01"]


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for a in subs:
        for name, sub in a.choices.items():
            yield from _leaves(sub, (*path, name))


VERBS = {" ".join(path): parser for path, parser in _leaves(build_parser())}


def _calls(parser: argparse.ArgumentParser) -> list[list[bytes]]:
    """The argument lists tried on one verb: every positional and required option bad at once, then
    each option that takes a value bad on its own (the others given plain values)."""
    positionals = [a for a in parser._actions if not a.option_strings and a.nargs != 0]
    options = [a for a in parser._actions if a.option_strings and a.nargs != 0
               and not isinstance(a, (argparse._HelpAction, argparse._StoreTrueAction, argparse._StoreFalseAction,
                                      argparse._CountAction, argparse._StoreConstAction))]
    required = [a for a in options if a.required]
    n = iter(range(10_000))

    def bad() -> bytes:
        return BAD[next(n) % len(BAD)]

    def plain(a: argparse.Action, value: bytes | None = None) -> list[bytes]:
        return [a.option_strings[-1].encode(), value if value is not None else b"x"]

    everything = [bad() for _ in positionals] + [arg for a in required for arg in plain(a, bad())]
    calls = [everything] if everything else []
    for a in options[:3]:
        call = [b"x" for _ in positionals] + [arg for r in required if r is not a for arg in plain(r)]
        calls.append(call + plain(a, bad()))
    return calls or [[bad()]]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(root / "site"), "init"], check=True,
                   capture_output=True)
    return root / "site"


def _run(verb: str, call: list[bytes], site: Path, cwd: Path) -> None:
    argv = [sys.executable.encode(), b"-m", b"floorkiosk", b"--site", os.fsencode(site), *verb.encode().split(), *call]
    try:
        done = subprocess.run(argv, capture_output=True, cwd=cwd, timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{verb} {call!r}: still running after 60 s")
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, f"{verb} {call!r}:\n{err}"
    assert done.returncode == 2, f"{verb} {call!r}: exit {done.returncode}\n{err}"
    assert "is not valid UTF-8 text" in err and err.startswith("usage: floorkiosk"), f"{verb} {call!r}:\n{err}"


@pytest.mark.slow
@pytest.mark.parametrize("verb", sorted(VERBS))
def test_arguments_that_are_not_utf8_give_a_usage_error(verb, site, tmp_path):
    """Each verb in its own processes, its arguments as bytes (some 140 processes: slow)."""
    for call in _calls(VERBS[verb]):
        _run(verb, call, site, tmp_path)


@pytest.mark.parametrize("verb", ["job show", "job add", "metal issue", "label print", "kiosk"])
def test_bytes_that_are_not_utf8_on_the_command_line(verb, site, tmp_path):
    """A few verbs in a real process with byte arguments (the full fuzz above is slow)."""
    _run(verb, _calls(VERBS[verb])[0], site, tmp_path)


def test_every_verb_in_this_process(site, tmp_path, capsys, monkeypatch):
    """The whole fuzz through main(), the arguments as Python hands them over (PEP 383 surrogates)."""
    from floorkiosk.cli import main

    monkeypatch.chdir(tmp_path)
    for verb, parser in sorted(VERBS.items()):
        for call in _calls(parser):
            argv = [os.fsdecode(a) for a in (b"--site", os.fsencode(site), *verb.encode().split(), *call)]
            with pytest.raises(SystemExit) as stop:
                main(argv)
            err = capsys.readouterr().err
            assert stop.value.code == 2, f"{verb} {call!r}: {err}"
            assert "is not valid UTF-8 text" in err and err.startswith("usage: floorkiosk"), f"{verb} {call!r}: {err}"


def test_the_fuzz_reaches_every_verb_more_than_once():
    # every verb of the parser is tried, most of them in several ways
    assert len(VERBS) >= 50
    assert sum(len(_calls(p)) for p in VERBS.values()) >= 120
