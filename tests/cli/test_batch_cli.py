"""`floorkiosk batch add|show|list|close`, run as a person would: refusals in words, the batch bag printed."""

from __future__ import annotations

import subprocess
import sys

from config_helpers import copy_example, edit  # tests/ is on the path (pytest rootdir)
from labels.helpers import PrinterServer


def fk(site, *args):
    return subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(site), *args], capture_output=True,
                          text=True, timeout=120)


def test_batch_add_show_list_close_and_the_batch_bag(tmp_path):
    printer = PrinterServer()
    try:
        cfg = copy_example(tmp_path / "config")
        edit(cfg / "site.toml", 'uri = "file:labels-out/casting.zpl"', f'uri = "{printer.uri}"')
        site = tmp_path / "shop"
        assert fk(site, "init", "--config", str(cfg)).returncode == 0
        for alloy in ("14KY", "14KY", "14KY", "18KY"):
            assert fk(site, "job", "add", "--route", "casting-line", "--design", "Stacking ring", "--alloy", alloy,
                      "--due", "2099-12-24").returncode == 0
        r = fk(site, "batch", "add", "J000001", "2", "--design", "Stacking rings", "--person", "farid",
               "--bench", "casting", "--print", "casting")
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == ["batch B0001: 2 job bags", "batch bag B0001 sent to casting's printer"]
        (label,) = printer.wait(1)
        assert b"FK:B:B0001" in label and b"2 pieces" in label and b"J000001" in label

        r = fk(site, "batch", "add", "--to", "B0001", "J000004")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert "J000004 is 18K yellow gold; batch B0001 is 14K yellow gold" in r.stderr
        assert "nothing was recorded" in r.stderr
        assert fk(site, "batch", "add", "--to", "b1", "3").stdout.strip() == "J000003 added to batch B0001"

        show = fk(site, "batch", "show", "B0001")
        assert show.returncode == 0, show.stderr
        assert "batch B0001  Stacking rings  3 pieces  open" in show.stdout
        assert "alloy: 14K yellow gold  route: Casting line  next: Wax injection" in show.stdout
        assert "by Farid Haddad" in show.stdout and "  J000003  Stacking ring  waiting for Wax injection" in show.stdout

        lst = fk(site, "batch", "list").stdout.splitlines()
        assert lst[0].split() == ["BATCH", "PIECES", "STATE", "ALLOY", "NEXT", "DESIGN"]
        assert lst[1].split()[:3] == ["B0001", "3", "open"]

        r = fk(site, "batch", "add", "J000001")
        assert r.returncode == 2 and "J000001 is already in open batch B0001" in r.stderr
        assert fk(site, "batch", "close", "B0001", "--person", "eva").stdout.strip() == "batch B0001 closed"
        assert fk(site, "batch", "list").stdout.strip() == "no open batches"
        assert "closed" in fk(site, "batch", "list", "--all").stdout
        r = fk(site, "batch", "add", "J000001", "J000004")
        assert r.returncode == 2 and "J000004 is 18K yellow gold; batch B0002 is 14K yellow gold" in r.stderr
        assert fk(site, "batch", "add", "J000001").stdout.strip() == "batch B0002: 1 job bag"
        for args, msg in ((("batch", "show", "B0042"), "no batch B0042"),
                          (("batch", "close", "B0001", "--person", "zed"), "no person 'zed'"),
                          (("batch", "add", "J000404"), "no job J000404")):
            r = fk(site, *args)
            assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr
    finally:
        printer.close()
