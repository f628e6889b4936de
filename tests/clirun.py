"""The CLI as a person types it, in this process: its exit code and what it printed; a site's event count."""

from __future__ import annotations

from floorkiosk.cli import main
from floorkiosk.workshop.site import open_shop


def run(site, capsys, *args) -> tuple[int, str, str]:
    code = main(["--site", str(site), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def journal_count(site) -> int:
    shop = open_shop(site)
    try:
        return shop.journal.count()
    finally:
        shop.close()
