"""The `floorkiosk` command: init, job add|show|list, and the demo site, run as a person would."""

import subprocess
import sys


def fk(site, *args):
    return subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(site), *args], capture_output=True, text=True)


def test_init_add_show_list(tmp_path):
    site = tmp_path / "shop"
    assert fk(site, "init").returncode == 0
    again = fk(site, "init")
    assert again.returncode == 2 and "already holds a site" in again.stderr
    r = fk(site, "job", "add", "--route", "custom-ring", "--design", "Halo ring", "--alloy", "PT950",
           "--due", "2099-12-24", "--client", "Aisha Bello", "--spec", "no rhodium", "--count", "2")
    assert r.returncode == 0 and r.stdout.split() == ["J000001", "J000002"]
    show = fk(site, "job", "show", "2")
    assert show.returncode == 0
    assert "J000002  Halo ring  [Custom ring]" in show.stdout and "client: Aisha Bello (AB)" in show.stdout
    assert "Consultation: to do" in show.stdout and "Platinum 950" in show.stdout
    lst = fk(site, "job", "list")
    assert lst.stdout.count("Halo ring") == 2


def test_bad_input_gives_a_message_not_a_traceback(tmp_path):
    site = tmp_path / "shop"
    fk(site, "init")
    r = fk(site, "job", "add", "--route", "nowhere", "--design", "x", "--alloy", "18KY", "--due", "2026-12-24")
    assert r.returncode == 2 and "unknown route 'nowhere'" in r.stderr and "Traceback" not in r.stderr
    r = fk(site, "job", "show", "J000404")
    assert r.returncode == 2 and "no job J000404" in r.stderr
    r = fk(tmp_path / "nothing-here", "job", "list")
    assert r.returncode == 2 and "no site at" in r.stderr


def test_demo_site_is_realistic_and_consistent(tmp_path):
    site = tmp_path / "demo"
    r = fk(site, "demo", "--no-kiosk", "--jobs", "40")
    assert r.returncode == 0, r.stderr
    from floorkiosk.workshop.site import open_shop

    shop = open_shop(site)
    stages = {row[0] for row in shop.journal.query("SELECT stage FROM job_stages WHERE status != 'todo'")}
    assert len(stages) >= 8  # jobs spread over the stages
    statuses = {row[0] for row in shop.journal.query("SELECT status FROM job_stages")}
    assert {"todo", "in progress", "done", "verified"} <= statuses
    assert shop.journal.query("SELECT count(*) FROM jobs")[0][0] >= 40  # plus any the metal demo casts in a tree
    assert shop.journal.verify() == []
    before = shop.journal.state_digest()
    shop.journal.rebuild()
    assert shop.journal.state_digest() == before
    assert (site / "demo-photos").is_dir() and len(list((site / "demo-photos").glob("*.jpg"))) >= 3
    shop.close()
    again = fk(site, "demo", "--no-kiosk")
    assert again.returncode == 0 and "reused" in again.stdout


def test_job_add_prints_job_bag_labels(tmp_path):
    site = tmp_path / "shop"
    fk(site, "init")
    r = fk(site, "job", "add", "--route", "casting-line", "--design", "Stacking ring", "--alloy", "925",
           "--due", "2099-12-24", "--count", "2", "--print", "casting")
    assert r.returncode == 0, r.stderr
    assert "2 job-bag labels sent to casting's printer" in r.stdout
    out = site / "labels-out" / "casting.zpl"  # the example casting bench prints ZPL to a file
    zpl = out.read_text()
    assert zpl.count("^XA") == 2 and "FK:J:J000001" in zpl and "FK:J:J000002" in zpl


def test_output_cut_short_by_a_pipe_is_not_a_traceback(tmp_path):
    site = tmp_path / "shop"
    fk(site, "init")
    fk(site, "job", "add", "--route", "casting-line", "--design", "Stacking ring", "--alloy", "925",
       "--due", "2099-12-24", "--count", "1500")
    p = subprocess.Popen([sys.executable, "-m", "floorkiosk", "--site", str(site), "job", "list", "--limit", "1500"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read().decode()
    p.wait()
    assert "Traceback" not in err and "BrokenPipe" not in err
