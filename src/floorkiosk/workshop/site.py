"""Opening a workshop: a new site's folder from a config, and a site opened with its trade areas."""

from __future__ import annotations

import shutil
import socket
import tomllib
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from floorkiosk.domain.config import load_site
from floorkiosk.errors import NotFound, Refused
from floorkiosk.paths import default_site_dir, example_config_dir
from floorkiosk.store import anchors
from floorkiosk.workshop import (anchoring, capa, capacity, clientlinks, kpi, metal, qc, returns, spc, standards, tooling,
                                 verbs)
from floorkiosk.workshop.shop import Area, Shop

NODE_FILE = "node.toml"

# The trade areas of every site, in the order their projectors fold each event.
AREAS: tuple[Area, ...] = (verbs.AREA, qc.AREA, metal.AREA, kpi.AREA, spc.AREA, capa.AREA, tooling.AREA,
                           capacity.AREA, standards.AREA, returns.AREA,
                           clientlinks.AREA)


def init_site(site_dir: str | Path, config_src: str | Path | None = None, *, origin: str | None = None) -> Path:
    """Create a site's data folder from a config folder (validated first); return the folder."""
    site_dir = Path(site_dir)
    src = Path(config_src) if config_src else example_config_dir()
    load_site(src)  # refuse to create a site from a bad config
    cfg = site_dir / "config"
    if cfg.exists() and any(cfg.iterdir()):
        raise Refused(f"{site_dir} already holds a site (its config folder is not empty)")
    cfg.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.suffix == ".toml":
            shutil.copy2(f, cfg / f.name)
    (site_dir / "photos").mkdir(exist_ok=True)
    origin = origin or f"{socket.gethostname().split('.')[0]}-{uuid.uuid4().hex[:6]}"
    (site_dir / NODE_FILE).write_text(f'# this machine\'s name in the journal (chains are per origin)\norigin = "{origin}"\n')
    if anchors.load_key(site_dir) is None:
        anchoring.make_key(site_dir)  # site.key (0600) and the checkpoint log's first line
    return site_dir


def open_shop(site_dir: str | Path | None = None, *, clock: Callable[[], datetime] | None = None,
              origin: str | None = None) -> Shop:
    """The site in `site_dir` (or FLOORKIOSK_SITE), its config validated, its journal open."""
    site_dir = Path(site_dir) if site_dir else default_site_dir()
    if not (site_dir / "config").is_dir():
        raise NotFound(f"no site at {site_dir}: create one with `floorkiosk init --site {site_dir}` or try `floorkiosk demo`")
    site = load_site(site_dir / "config")
    if origin is None:
        node = site_dir / NODE_FILE
        origin = tomllib.loads(node.read_text()).get("origin") if node.exists() else None
        origin = origin or socket.gethostname()
    if not site.settings.hub:
        shop = Shop(site, site_dir, origin=origin, areas=AREAS, clock=clock)
        shop.anchoring = anchoring.Anchoring(site_dir, shop.journal)
        return shop
    # Imported here, not above: the hub's driver (psycopg) is loaded only by the sites that have a hub.
    from floorkiosk.workshop import sync

    shop = Shop(site, site_dir, origin=origin, areas=(*AREAS, sync.AREA), clock=clock)
    shop.numbers = sync.HubNumbers(shop)
    shop.anchoring = anchoring.Anchoring(site_dir, shop.journal, hub=site.settings.hub)
    return shop
