"""Helpers the hub tests share: rebuilding a store from the hub alone, and a TCP proxy that cuts the network."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path
from urllib.parse import quote

from floorkiosk.paths import example_config_dir


def with_schema(dsn: str, schema: str) -> str:
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options={quote('-csearch_path=' + schema)}"


class Hub:
    """One test's hub: its admin address, its schema, and the bench accounts `hub init` wrote."""

    def __init__(self, dsn: str, schema: str, creds: Path) -> None:
        from floorkiosk.store.hub import HubAddress

        self.base = dsn
        self.schema = schema
        self.dsn = with_schema(dsn, schema)
        self.admin = HubAddress(self.dsn)
        self.creds = creds

    def connect(self):
        from floorkiosk.store import hub

        return hub.connect(self.admin, origin="test")

    def query(self, sql: str, params=()):
        conn = self.connect()
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def via_port(dsn: str, port: int) -> str:
    """The same address on 127.0.0.1:port (the test's proxy), whatever form its host part had."""
    from urllib.parse import urlsplit, urlunsplit

    u = urlsplit(dsn)
    user = u.netloc.rsplit("@", 1)[0] + "@" if "@" in u.netloc else ""
    return urlunsplit((u.scheme, f"{user}127.0.0.1:{port}", u.path, u.query, u.fragment))


def hub_config(dest: Path, dsn: str) -> Path:
    """A copy of the example config whose site.toml names this hub."""
    shutil.copytree(example_config_dir(), dest)
    site = dest / "site.toml"
    text = site.read_text()
    assert 'timezone = "UTC"\n' in text
    site.write_text(text.replace('timezone = "UTC"\n', f'timezone = "UTC"\nhub = "{dsn}"\n', 1))
    return dest


def replay_from_hub(pg_hub: Hub, dest: Path, tables: dict | None = None) -> tuple[str, str, int]:
    """Build a fresh store from the hub alone: (digest as pulled, digest after a full rebuild, events).
    `tables`, if given, is filled with each derived table's digest after the rebuild."""
    from floorkiosk.workshop import sync
    from floorkiosk.workshop.site import init_site, open_shop

    cfg = dest.parent / (dest.name + "-config")
    hub_config(cfg, pg_hub.dsn)
    init_site(dest, cfg, origin=f"{pg_hub.schema}-replay")
    shop = open_shop(dest)
    try:
        s = sync.Syncer(shop, address=pg_hub.admin, readonly=True)
        s.sync_once()
        s.close()
        pulled = shop.journal.state_digest()
        # in the hub's order, through the helper process too (it folds there unless a conflict is open)
        shop.journal.rebuild(apart=True)
        if tables is not None:
            tables.update(shop.journal.table_digests())
        return pulled, shop.journal.state_digest(), shop.journal.count()
    finally:
        shop.close()


class TcpProxy:
    """A TCP proxy on 127.0.0.1 between the kiosks and the hub; cut() drops every link and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.cut_off = threading.Event()
        self.closed = threading.Event()
        self.links: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            self.accepted += 1
            with self.lock:
                self.links |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self.lock:
            self.links.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self) -> None:
        """The network goes down: every open link is reset and new ones are refused."""
        self.cut_off.set()
        with self.lock:
            links = list(self.links)
        for s in links:
            self._drop(s)

    def restore(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.closed.set()
        self.cut()
        self.sock.close()
