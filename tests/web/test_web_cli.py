"""The web's commands: web user add|list|remove, web wall, job link (make, mark a photo, withdraw), and `floorkiosk web`
itself as a real process. Bad input gets a plain message and changes nothing."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time

import httpx2 as httpx  # the httpx fork Starlette's TestClient uses (the test extra)
import pytest

from floorkiosk.cli import main
from floorkiosk.web.people import Users
from floorkiosk.workshop import clientlinks

PASSWORD = "correct horse battery"


def run(capsys, monkeypatch, site, *args, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["--site", str(site), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_web_users_are_added_listed_and_removed(shop, capsys, monkeypatch):
    d = shop.dir
    code, out, err = run(capsys, monkeypatch, d, "web", "user", "add", "eva", "--role", "manager", "--person", "eva",
                         "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "web user eva: manager (eva)" in out
    assert Users(d).check("eva", PASSWORD) is not None
    code, out, err = run(capsys, monkeypatch, d, "web", "user", "list")
    assert "eva" in out and "manager" in out and PASSWORD not in out
    # refused, nothing changed: a short password, an unknown person, a bad name
    code, out, err = run(capsys, monkeypatch, d, "web", "user", "add", "sam", "--role", "sales", "--password-stdin",
                         stdin="short\n")
    assert code == 2 and "at least 10 characters" in err and "Traceback" not in err
    code, out, err = run(capsys, monkeypatch, d, "web", "user", "add", "sam", "--role", "sales", "--person", "nobody",
                         "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "no person 'nobody'" in err
    code, out, err = run(capsys, monkeypatch, d, "web", "user", "add", "Sam <b>", "--role", "sales",
                         "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "a user name is" in err
    assert [u.name for u in Users(d).list()] == ["eva"]
    code, out, err = run(capsys, monkeypatch, d, "web", "user", "remove", "eva")
    assert code == 0 and Users(d).list() == []
    code, out, err = run(capsys, monkeypatch, d, "web", "user", "remove", "eva")
    assert code == 2 and "no web user 'eva'" in err


def test_wall_links_are_made_and_withdrawn(shop, capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, shop.dir, "web", "wall", "--base-url", "https://board.example")
    assert code == 0 and out.startswith("https://board.example/wall/")
    token = out.strip().rsplit("/", 1)[1]
    assert Users(shop.dir).wall_ok(token) and not Users(shop.dir).wall_ok(token[:-1] + "x")
    code, out, err = run(capsys, monkeypatch, shop.dir, "web", "wall", "--revoke")
    assert code == 0 and "1 wall link withdrawn" in out and not Users(shop.dir).wall_ok(token)


def test_job_link_makes_marks_and_withdraws(shop, photo, capsys, monkeypatch):
    from floorkiosk.workshop import verbs

    j = verbs.create_job(shop, route="custom-ring", design="Halo", alloy="18KY", due="2027-03-01")
    verbs.start(shop, j, "dev", "design")
    verbs.attach_photo(shop, j, "dev", "design", photo)
    d = shop.dir
    code, out, err = run(capsys, monkeypatch, d, "job", "link", "1", "--person", "farid")
    assert code == 0 and out.startswith(f"http://127.0.0.1:8080/c/{j}/") and "opens until 20" in err
    token = out.strip().rsplit("/", 1)[1]
    assert clientlinks.job_of_link(shop, j, token) == j
    code, out, err = run(capsys, monkeypatch, d, "job", "link", j, "--photo", photo[:8], "--person", "ben")
    assert code == 2 and "not a supervisor" in err and clientlinks.client_photos(shop, j) == []
    code, out, err = run(capsys, monkeypatch, d, "job", "link", j, "--photo", photo[:8], "--person", "eva")
    assert code == 0 and "shown on the client's link" in out and clientlinks.client_photos(shop, j) == [photo]
    code, out, err = run(capsys, monkeypatch, d, "job", "link", j, "--photo", "zz", "--person", "eva")
    assert code == 2 and "not a photo's hash" in err
    code, out, err = run(capsys, monkeypatch, d, "job", "link", "J999999", "--person", "farid")
    assert code == 2 and "no job J999999" in err and "Traceback" not in err
    code, out, err = run(capsys, monkeypatch, d, "job", "link", j)
    assert code == 2 and "--person" in err
    code, out, err = run(capsys, monkeypatch, d, "job", "link", j, "--revoke", "--person", "farid")
    assert code == 0 and "1 link withdrawn" in out
    with pytest.raises(Exception):
        clientlinks.job_of_link(shop, j, token)


def test_floorkiosk_web_serves_the_board_as_a_process(shop, tmp_path):
    Users(shop.dir).add("eva", "manager", PASSWORD)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "floorkiosk", "--site", str(shop.dir), "web", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "floorkiosk web did not answer"
                time.sleep(0.1)
        assert r.status_code == 401 and 'action="/login"' in r.text
    finally:
        proc.terminate()
        proc.wait(10)
    assert f"web board on http://127.0.0.1:{port}/" in proc.stdout.read()


def test_floorkiosk_web_refuses_a_bad_port(shop, capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, shop.dir, "web", "--port", "70000")
    assert code == 2 and "a port is 1 to 65535" in err
