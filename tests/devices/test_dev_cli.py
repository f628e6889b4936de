"""The device commands: `floorkiosk decode`, `scale read`, `scale probe`, `sim scale`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from floorkiosk.cli import main

CORPUS = Path(__file__).parent / "fixtures" / "corpus"


def test_decode_prints_each_image(capsys, tmp_path):
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (100, 100), 255).save(blank)
    rc = main(["decode", str(CORPUS / "code128-1" / "1.png"), str(blank)])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    assert out[0].endswith("Code128: 168901")
    assert out[1] == f"{blank}: nothing found"


def test_scale_read_and_probe_against_a_simulator(make_sim, capsys):
    sim = make_sim("sartorius-sbi22")
    sim.put("3.5")
    sim.settle()
    assert main(["scale", "read", sim.path, "--profile", "sartorius-sbi22", "--count", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["3.50 g  (3.50 g) stable gross"] * 2
    assert main(["scale", "probe", sim.path, "--profile", "mt-sics", "--profile", "sartorius-sbi22"]) == 0
    assert "answers: profile sartorius-sbi22 at 9600 7O1" in capsys.readouterr().out


def test_scale_read_stable_prints_each_weight_once(make_sim, capsys):
    sim = make_sim("mt-sics")
    sim.put("1")
    sim.settle()
    assert main(["scale", "read", sim.path, "--profile", "mt-sics", "--stable", "--count", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == ["1.00 g  (1.00 g) stable"]


def test_scale_read_unknown_profile_is_a_message(capsys):
    assert main(["scale", "read", "loop://", "--profile", "no-such"]) == 2
    assert "no scale profile 'no-such'" in capsys.readouterr().err


def test_sim_scale_command_serves_a_pty():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "floorkiosk", "sim", "scale", "--profile", "mt-sics", "--weight", "9.99"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        path = proc.stdout.readline().strip()
        assert Path(path).exists()
        from floorkiosk.devices.scales import Reading, Scale

        with Scale(path, "mt-sics") as scale:
            r = scale.read_stable(3)
            assert isinstance(r, Reading) and str(r.grams) == "9.99"
            proc.stdin.write("overload\n")
            proc.stdin.flush()
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                r = scale.read_now(0.5)
                if not isinstance(r, Reading):
                    break
            assert r.kind.value == "overload"
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(5) == 0
        assert not Path(path).exists()  # the port's name goes with the simulator
    finally:
        if proc.poll() is None:
            proc.kill()
