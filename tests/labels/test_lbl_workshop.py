"""Where labels are printed in the workshop, on a real site: new job bags, reprints (recorded), badge
cards, the command card sheet, stone parcels; and the `floorkiosk label` command as a person uses it."""

from __future__ import annotations

import pytest

from floorkiosk.workshop import cards, sessions, verbs
from floorkiosk.cli import main
from floorkiosk.domain import events as ev
from floorkiosk.errors import NotFound, Refused
from floorkiosk.labels import LabelError, Printer, PrintFailed, load_template, render_png, render_zpl
from floorkiosk.workshop import labelling as service

from .helpers import decode, decode_png, rasterise


def new_jobs(shop, n=1, **kw):
    spec = dict(route="custom-ring", design="Pear solitaire", alloy="18KY", due="2026-12-24",
                client="Maria Klein", priority="rush")
    spec.update(kw)
    return verbs.create_jobs(shop, [dict(spec) for _ in range(n)])


def reprints(shop) -> list:
    return list(shop.journal.events(types=[ev.LABEL_REPRINTED]))


def test_new_jobs_print_on_the_benchs_printer(shop):
    ids = new_jobs(shop, 3)
    result = service.print_job_bags(shop, ids, bench_id="casting")  # file:labels-out/casting.zpl in the example site
    out = shop.dir / "labels-out" / "casting.zpl"
    expected = render_zpl(load_template("job_bag"), [cards.label_fields(shop, j) for j in ids], 203)
    assert out.read_bytes() == expected and result.labels == 3
    assert b"RUSH" in expected and b"Pear solitaire" in expected and b"^FDMK^FS" in expected


def test_job_bag_fields_from_the_shop_scan_back(shop):
    (j,) = new_jobs(shop)
    png = render_png(load_template("job_bag"), cards.label_fields(shop, j), 300)
    assert decode_png(png) == [("Code128", f"FK:J:{j}"), ("QRCode", f"FK:J:{j}")]


def test_a_job_that_does_not_exist_prints_nothing(shop, printer_server):
    ids = new_jobs(shop, 1)
    server = printer_server()
    with pytest.raises(NotFound, match="no job J000099"):
        service.print_job_bags(shop, [ids[0], "J000099"], printer=Printer(server.uri))
    assert server.jobs == []


def test_a_reprint_is_recorded_with_who_where_and_why(shop, printer_server):
    (j,) = new_jobs(shop)
    server = printer_server()
    result, event = service.reprint_job_bag(shop, j, person_id="ana", bench_id="casting", reason="label torn by pickle",
                                            printer=Printer(server.uri))
    assert server.wait(1) == [render_zpl(load_template("job_bag"), cards.label_fields(shop, j), 203)]
    (recorded,) = reprints(shop)
    assert (recorded.type, recorded.job, recorded.person, recorded.bench) == (ev.LABEL_REPRINTED, j, "ana", "casting")
    assert recorded.payload["reason"] == "label torn by pickle"
    assert any("reprinted the label" in line.text for line in cards.job_card(shop, j).history)


def test_a_failed_reprint_records_nothing(shop):
    (j,) = new_jobs(shop)
    with pytest.raises(PrintFailed, match="offline"):
        service.reprint_job_bag(shop, j, person_id="ana", bench_id="casting", reason="lost",
                                printer=Printer("tcp://127.0.0.1:1"))
    with pytest.raises(Refused, match="say why"):
        service.reprint_job_bag(shop, j, person_id="ana", bench_id="casting", reason="  ")
    with pytest.raises(NotFound):
        service.reprint_job_bag(shop, j, person_id="nobody", bench_id="casting", reason="lost")
    assert reprints(shop) == []


def test_a_bench_without_a_printer_says_so(shop):
    (j,) = new_jobs(shop)
    bare = next(b for b in shop.site.benches.values() if b.printer is None)
    with pytest.raises(LabelError, match=f"bench '{bare.id}' has no printer"):
        service.print_job_bags(shop, [j], bench_id=bare.id)


def test_badge_cards_for_everyone(shop, tmp_path):
    out = tmp_path / "badges.pdf"
    result = service.print_badges(shop, printer=Printer(f"file:{out}", 300, "pdf", "A4"))
    people = shop.site.people.values()
    assert result.labels == len(people)
    (page,) = rasterise(out.read_bytes(), 300, tmp_path)
    found = set(decode(page))
    assert found == {(fmt, f"FK:P:{p.badge}") for p in people for fmt in ("Code128", "QRCode")}


def test_badges_scan_back_as_logins(shop):
    (person,) = service.badge_records(shop, ["eva"])
    png = render_png(load_template("badge_card"), person, 203)
    for _, text in decode_png(png):
        assert sessions.scan(shop, text).kind.name == "BADGE" and shop.site.person_by_badge(sessions.scan(shop, text).value).id == "eva"


def test_command_card_sheet(tmp_path):
    out = tmp_path / "commands.pdf"
    service.print_command_cards(Printer(f"file:{out}", 300, "pdf", "Letter"))
    pages = rasterise(out.read_bytes(), 300, tmp_path)
    from floorkiosk.domain.payloads import COMMANDS

    assert {text for page in pages for _, text in decode(page)} == {f"FK:C:{c}" for c in COMMANDS}
    with pytest.raises(Refused, match="unknown command 'JUMP'"):
        service.command_records(["START", "JUMP"])


def test_stone_parcel_label_from_the_stone_safe(shop):
    qc = pytest.importorskip("floorkiosk.workshop.qc")
    (j,) = new_jobs(shop, stones=[{"kind": "diamond", "shape": "round", "count": 12, "ct": "0.62"}])
    issued = qc.issue_stones(shop, j, "eva", "ben")
    parcel = issued.payload["parcel"]
    (record,) = service.parcel_records(shop, [parcel])
    png = render_png(load_template("stone_parcel"), record, 300)
    assert decode_png(png) == [("Code128", f"FK:S:{parcel}"), ("QRCode", f"FK:S:{parcel}")]


# -- the command line ---------------------------------------------------------------------------------

def fk(site, *args) -> int:
    return main(["--site", str(site), "label", *args])


def test_cli_render_job_bags(shop, tmp_path, capsys):
    ids = new_jobs(shop, 2)
    out = tmp_path / "bags.zpl"
    assert fk(shop.dir, "render", "--template", "job_bag", "--job", ids[0], "--job", "2", "--format", "zpl",
              "-o", str(out)) == 0
    assert out.read_bytes() == render_zpl(load_template("job_bag"), [cards.label_fields(shop, j) for j in ids], 203)
    assert "2 job bag label(s), zpl at 203 dpi" in capsys.readouterr().out


@pytest.mark.parametrize("fmt,dpi", [("png", 600), ("pdf", 203)])
def test_cli_render_png_and_pdf(shop, tmp_path, fmt, dpi):
    (j,) = new_jobs(shop)
    out = tmp_path / f"bag.{fmt}"
    assert fk(shop.dir, "render", "--job", j, "--format", fmt, "--dpi", str(dpi), "-o", str(out)) == 0
    if fmt == "png":
        assert decode_png(out.read_bytes()) == [("Code128", f"FK:J:{j}"), ("QRCode", f"FK:J:{j}")]
    else:
        (page,) = rasterise(out.read_bytes(), dpi, tmp_path)
        assert decode(page) == [("Code128", f"FK:J:{j}"), ("QRCode", f"FK:J:{j}")]


@pytest.mark.parametrize("args,message", [
    (["--template", "jobbag", "--job", "1"], "no label template 'jobbag'"),
    (["--job", "J000077"], "no job J000077"),
    (["--job", "1", "--dpi", "250"], "250 dpi is not supported"),
    (["--template", "badge_card", "--job", "1"], "prints badge labels: use --badge"),
    (["--template", "stone_parcel", "--field", "parcel=SP1"], "needs field(s) job, setter, stones, weight"),
    (["--template", "stone_parcel", "--field", "oops"], "write NAME=VALUE"),
])
def test_cli_bad_input_says_why_and_writes_nothing(shop, tmp_path, capsys, args, message):
    new_jobs(shop)
    out = tmp_path / "never.zpl"
    assert fk(shop.dir, "render", *args, "--format", "zpl", "-o", str(out)) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_print_and_reprint(shop, printer_server, capsys):
    (j,) = new_jobs(shop)
    server = printer_server()
    assert fk(shop.dir, "print", "--job", j, "--printer", server.uri, "--dpi", "300") == 0
    assert server.wait(1)[0] == render_zpl(load_template("job_bag"), cards.label_fields(shop, j), 300)
    assert fk(shop.dir, "print", "--job", j, "--bench", "casting", "--reprint", "damaged", "--by", "ben") == 0
    assert "recorded as label.reprinted" in capsys.readouterr().out
    assert [(e.person, e.payload["reason"]) for e in reprints(shop)] == [("ben", "damaged")]
    assert fk(shop.dir, "print", "--job", j, "--bench", "casting", "--reprint", "lost") == 2
    assert "give --person PERSON" in capsys.readouterr().err


def test_cli_stone_parcel_from_fields_alone(tmp_path):
    out = tmp_path / "parcel.png"
    assert main(["--site", str(tmp_path / "nosite"), "label", "render", "--template", "stone_parcel",
                 "--field", "parcel=SP0031", "--field", "stones=3 x pear 4x3 mm", "--field", "weight=0.41 ct",
                 "--field", "job=J000031", "--field", "setter=Ben", "--format", "png", "-o", str(out)]) == 0
    assert decode_png(out.read_bytes()) == [("Code128", "FK:S:SP0031"), ("QRCode", "FK:S:SP0031")]


def test_cli_badges_and_commands_to_files(shop, tmp_path, capsys):
    assert fk(shop.dir, "badges", "--person", "ana", "--person", "eva", "-o", str(tmp_path / "b.png"),
              "--format", "png", "--dpi", "203") == 0
    assert decode_png((tmp_path / "b-2.png").read_bytes())[0] == ("Code128", "FK:P:B2001")
    assert fk(shop.dir, "commands", "-o", str(tmp_path / "c.zpl"), "--format", "zpl") == 0
    from floorkiosk.domain.payloads import COMMANDS

    assert (tmp_path / "c.zpl").read_bytes().count(b"^XA") == len(COMMANDS) == 14  # one ZPL label per command card
    assert fk(shop.dir, "list") == 0
    assert "job_bag" in capsys.readouterr().out


def first_prints(shop) -> list:
    return list(shop.journal.events(types=[ev.LABEL_PRINTED]))


def test_a_job_bags_second_label_is_a_reprint_whichever_way_it_is_printed(shop, printer_server, capsys):
    (j,) = new_jobs(shop)
    server = printer_server()
    assert fk(shop.dir, "print", "--job", j, "--printer", server.uri, "--by", "dev") == 0
    server.wait(1)
    assert [(e.job, e.person) for e in first_prints(shop)] == [(j, "dev")]
    capsys.readouterr()
    # again, without who and why: refused before anything reaches the printer, nothing recorded
    before = shop.journal.count()
    assert fk(shop.dir, "print", "--job", j, "--printer", server.uri) == 2
    assert f"{j}'s job-bag label was printed before" in capsys.readouterr().err
    with pytest.raises(Refused, match="was printed before"):
        service.print_job_bags(shop, [j], printer=Printer(server.uri))
    assert len(server.jobs) == 1 and shop.journal.count() == before
    # as a reprint, with who and why, it prints and is recorded
    assert fk(shop.dir, "print", "--job", j, "--bench", "casting", "--printer", server.uri,
              "--reprint", "torn", "--by", "ben") == 0
    assert [(e.person, e.payload["reason"]) for e in reprints(shop)] == [("ben", "torn")]
    assert "printed the job-bag label" in " ".join(h.text for h in cards.job_card(shop, j).history)


def test_job_add_prints_the_first_labels_and_records_them(shop, capsys):
    assert main(["--site", str(shop.dir), "job", "add", "--route", "custom-ring", "--design", "Band", "--alloy",
                 "18KY", "--due", "2099-12-24", "--count", "2", "--print", "casting"]) == 0
    assert sorted(e.job for e in first_prints(shop)) == ["J000001", "J000002"]
    capsys.readouterr()
    assert fk(shop.dir, "print", "--job", "J000002", "--bench", "casting") == 2
    assert "J000002's job-bag label was printed before" in capsys.readouterr().err
    with pytest.raises(Refused, match="printed before"):
        service.print_job_bags(shop, ["J000001"], bench_id="casting")
