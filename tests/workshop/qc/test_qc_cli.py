"""`floorkiosk qc …`: plans, an inspection without the kiosk, the inspection list and a batch's sample."""

from floorkiosk.cli import main
from floorkiosk.domain import qc as dq


def run(capsys, shop, *args) -> tuple[int, str, str]:
    code = main(["--site", str(shop.dir), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plans_list_and_the_plan_of_a_job(capsys, shop, qshop):
    code, out, _ = run(capsys, shop, "qc", "plans")
    assert code == 0
    assert "final-casting: Final inspection: casting line — inspects Quality control, routes casting-line; " \
           "sample 20 % of each batch (at least 2)" in out
    assert "  LOOSE-STONE    Stone moves in its setting (redo: Stone setting)" in out
    job = qshop[1]["final"]
    code, out, _ = run(capsys, shop, "qc", "plans", "--job", job)
    assert code == 0 and f"{job} Solitaire engagement ring: Quality control (stage), plan: Final inspection" in out
    assert "1.4–2.2 mm" in out and "6.5 ± 0.25" not in out  # limits as configured; the spec size is per job


def test_inspect_from_the_command_line(capsys, shop, qshop):
    job = qshop[1]["final"]
    ref = shop.job(job).last_weight
    base = ["qc", "inspect", job, "--by", "farid", "-a", f"weight={ref}", "-a", "size=6.5", "-a", "alignment=1",
            "-a", "secure=pass", "-a", "finish=pass", "-a", "hallmark=pass"]
    code, _, err = run(capsys, shop, *base, "-a", "shank=thin")
    assert code == 2 and "shank thickness: 'thin' is not a number" in err
    code, _, err = run(capsys, shop, *base, "-a", "shank=1.8", "-a", "colour=nice")
    assert code == 2 and "no check colour in this inspection" in err
    assert shop.journal.query("SELECT count(*) FROM qc_inspections")[0][0] == 0
    code, _, err = run(capsys, shop, *base, "-a", "shank=1.3")  # a supervisor's action: her PIN is asked
    assert code == 2 and "Farid Haddad's PIN is needed" in err
    assert shop.journal.query("SELECT count(*) FROM qc_inspections")[0][0] == 0
    code, out, _ = run(capsys, shop, *base, "-a", "shank=1.3", "--pin", "1357")
    assert code == 0 and out.startswith(f"{job}: FAIL — rejected: THIN-SHANK, back to Cleanup")
    code, out, _ = run(capsys, shop, "qc", "inspections", "--job", job)
    assert code == 0 and "FAIL" in out and "THIN-SHANK: shank thickness" in out


def test_sample_of_a_batch(capsys, shop, qshop):
    batch, pieces = qshop[1]["batch"], qshop[1]["pieces"]
    code, out, _ = run(capsys, shop, "qc", "sample", batch)
    assert code == 0 and "no sample drawn at qc yet" in out
    from floorkiosk.workshop import qc

    qc.begin(shop, pieces[0], "farid", "qc")
    code, out, _ = run(capsys, shop, "qc", "sample", batch)
    drawn = dq.draw(batch, "qc", pieces, 2)
    assert f"Batch {batch}: sample 2 of 5, drawn {drawn[0]}, {drawn[1]}" in out
    assert sum(1 for line in out.splitlines() if "drawn  to inspect" in line) == 2
