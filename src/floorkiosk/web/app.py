"""The manager's web board: a Starlette app over one open site, server-rendered, every page following the journal live.

`make_app(shop)` is what `floorkiosk web` serves (uvicorn) and what the tests drive. Every page is
rendered on the server from the workshop's read functions (views.py) with Jinja2, which escapes
everything it prints. A page follows the journal through server-sent events: one watcher polls the
journal's position (a query on its own connection, ten times a second) and tells every open page;
the page then fetches its own body again (a "fragment"), rendered once per journal position however
many browsers ask. Nothing here writes to the shop.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import logging
import re
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from floorkiosk.domain import payloads
from floorkiosk.errors import FloorkioskError, NotFound
from floorkiosk.web import views
from floorkiosk.web.people import LoginLimit, Session, Sessions, Users
from floorkiosk.workshop import clientlinks
from floorkiosk.workshop.shop import Shop

log = logging.getLogger("floorkiosk.web")
HERE = Path(__file__).resolve().parent
COOKIE = "fk_session"
CSRF_COOKIE = "fk_login_csrf"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
SECURITY_HEADERS = {
    # pages load only their own script and style; the client's link is never sent on to another site
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Live:
    """The journal's position, watched on a connection of its own; pages wait here for it to move."""

    def __init__(self, journal_path: Path, poll: float = 0.1) -> None:
        self.path = journal_path
        self.poll = poll
        self.seq = 0
        self._changed = asyncio.Event()
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task | None = None

    def _read(self) -> int:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=5)
        row = self._conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        return int(row[0])

    async def run(self) -> None:
        while True:
            try:
                seq = await asyncio.to_thread(self._read)
            except sqlite3.Error as exc:  # a busy or replaced file: say so, try again
                log.warning("journal position not read: %s", exc)
                self._conn = None
                seq = self.seq
            if seq != self.seq:
                self.seq = seq
                self._changed.set()
                self._changed = asyncio.Event()
            await asyncio.sleep(self.poll)

    async def start(self) -> None:
        self.seq = await asyncio.to_thread(self._read)
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._conn is not None:
            self._conn.close()

    async def moved(self, seen: int, timeout: float) -> int:
        """The position once it differs from `seen` (or after `timeout`, as it is)."""
        while self.seq == seen:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                break
        return self.seq


class HubPull:
    """On a hub site: pull every bench's events from the hub into this site's journal, read-only (never pushes)."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="floorkiosk-web-hubpull", daemon=True)

    def _run(self) -> None:
        from floorkiosk.workshop import sync  # psycopg, loaded only on sites that have a hub

        s = sync.Syncer(self.shop, readonly=True)
        wake = threading.Event()
        backoff = sync.BACKOFF_MIN_S
        while not self._stop.is_set():
            try:
                s.sync_once()
                backoff = sync.BACKOFF_MIN_S
                s.wait(sync.HEARTBEAT_S, wake, self._stop)
            except Exception as exc:  # offline: the board shows what it has, and tries again
                log.warning("hub pull: %s", s.address.scrub(str(exc).strip() or type(exc).__name__))
                s.close()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, sync.BACKOFF_MAX_S)
        s.close()

    def start(self) -> HubPull:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


class Pages:
    """Rendered pages kept per (address, role, journal position): fifty browsers on one board cost one render."""

    def __init__(self, size: int = 128) -> None:
        self._done: OrderedDict[tuple, str] = OrderedDict()
        self._busy: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self.size = size
        self.renders = 0

    def get(self, key: tuple, make: Callable[[], str | tuple[str, bool]]) -> str:
        """The page of `key`, made by `make` once; `make` may answer (page, False) for a page not to keep."""
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            one = self._busy.setdefault(key, threading.Lock())
        with one:  # the first asker renders; the others wait for it and take its page
            with self._lock:
                if key in self._done:
                    return self._done[key]
            made = make()
            html, keep = made if isinstance(made, tuple) else (made, True)
            self.renders += 1
            with self._lock:
                if keep:
                    self._done[key] = html
                while len(self._done) > self.size:
                    self._done.popitem(last=False)
                self._busy.pop(key, None)
        return html


def _csv_cell(v: Any) -> Any:
    """A cell as a spreadsheet should read it: text starting like a formula is kept as text (OWASP CSV injection)."""
    if v is None:
        return ""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(v)
            return v
        except ValueError:
            return "'" + v
    return v


def csv_text(table: views.Table) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(table.header)
    for r in table.rows:
        w.writerow([_csv_cell(v) for v in r])
    return out.getvalue()


def make_app(shop: Shop, *, users: Users | None = None, sessions: Sessions | None = None,
             limit: LoginLimit | None = None, poll: float = 0.1, hub: bool | None = None,
             secure_cookies: bool = False) -> Starlette:
    """The web board of an open site. `hub`: pull from the site's hub (default: when site.toml names one);
    `secure_cookies`: served over HTTPS (a proxy in front), so the cookies are sent over HTTPS only."""
    users = users or Users(shop.dir)
    sessions = sessions or Sessions()
    limit = limit or LoginLimit()
    live = Live(shop.journal.path, poll)
    pages = Pages()
    schedules = views.ScheduleCache(shop.dir)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(nav=views.NAV, pages=views.PAGES, site_name=shop.site.settings.name)
    env.filters["q"] = lambda s: quote(str(s), safe="")
    hub_on = bool(shop.site.settings.hub) if hub is None else hub
    pull: list[HubPull] = []

    def render(name: str, **ctx: Any) -> str:
        return env.get_template(name).render(**ctx)

    def headers(extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**SECURITY_HEADERS, **(extra or {})}

    def html(text: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(text, status, headers=headers())

    def problem(status: int, title: str, text: str, user: Session | None = None) -> HTMLResponse:
        return html(render("problem.html", title=title, text=text, user=user, fragment=False, seq=live.seq,
                           page="", live_url=""), status)

    def login_page(request: Request, status: int, note: str = "") -> HTMLResponse:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        nxt = request.url.path if request.method == "GET" and request.url.path != "/login" else "/"
        body = render("login.html", csrf=token, note=note, next=nxt, user=None, fragment=False, seq=live.seq,
                      page="login", live_url="")
        resp = html(body, status)
        resp.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies, path="/login")
        return resp

    def session_of(request: Request) -> tuple[Session | None, bool]:
        return sessions.get(request.cookies.get(COOKIE))

    def guarded(page: str, view: Callable[[Request, Session], Any], *, download: bool = False, lock: bool = True):
        """A signed-in page: 401 and the sign-in form without a live session, 403 for a role it is not for."""

        async def endpoint(request: Request) -> Response:
            s, expired = session_of(request)
            if s is None:
                return login_page(request, 401, "Your session has ended: sign in again." if expired else "")
            if s.user.role not in views.PAGES[page]:
                return problem(403, "Not for your role", f"The {page} page is not shown to {s.user.role}s.", user=s)
            fragment = request.headers.get("x-fragment") == "1"
            seq = live.seq
            # A whole page carries its user's name and sign-out token: kept for that session only. A
            # fragment (the body a live page fetches) depends on the role alone: shared by every browser.
            key = (page, str(request.url.path), str(request.url.query), s.user.role, fragment, seq,
                   "" if fragment else s.token)

            def locked() -> Any:
                if not lock:  # a view that reads no table of this connection (the schedule keeps its own)
                    return view(request, s)
                with shop.journal.lock:
                    return view(request, s)

            def make() -> tuple[str, bool]:
                template, ctx = locked()
                html = render(template, user=s, fragment=fragment, seq=seq, page=page, live_url="/events",
                              qs=str(request.url.query), **ctx)
                return html, ctx.get("keep", True)  # not kept: a page still waiting for its figures

            try:
                if download:
                    return await run_in_threadpool(locked)
                body = await run_in_threadpool(pages.get, key, make)
            except NotFound as exc:
                return problem(404, "Not found", str(exc), user=s)
            except FloorkioskError as exc:
                return problem(400, "Cannot show this", str(exc), user=s)
            return html(body)

        return endpoint

    def table_csv(tables: list[views.Table], name: str, stem: str) -> Response:
        for t in tables:
            if t.name == name:
                return Response(csv_text(t), media_type="text/csv; charset=utf-8",
                                headers=headers({"Content-Disposition": f'attachment; filename="{stem}-{t.name}.csv"'}))
        raise NotFound(f"no table {name!r} here; tables: {', '.join(t.name for t in tables)}")

    # -- the pages --
    def q(request: Request, key: str) -> str | None:
        v = request.query_params.get(key)
        return v.strip() if v and v.strip() else None

    def board_ctx(request: Request) -> dict[str, Any]:
        return views.board_view(shop, bench=q(request, "bench"), person=q(request, "person"),
                                alloy=q(request, "alloy"), route=q(request, "route"))

    def board(request: Request, s: Session):
        return "board.html", board_ctx(request)

    def job_id(request: Request) -> str:
        raw = request.path_params["job"]
        norm = payloads.normalize_job(raw)
        if norm is None:
            raise NotFound(f"no job {raw!r} in this workshop")
        return norm

    def job(request: Request, s: Session):
        ctx = views.job_view(shop, job_id(request), s.user.role)
        ctx["links"] = len(clientlinks.links(shop, ctx["job"].id))
        return "job.html", ctx

    def kpis(request: Request, s: Session):
        return "kpis.html", views.kpis_view(shop, views.parse_day(q(request, "from")), views.parse_day(q(request, "to")))

    def schedule(request: Request, s: Session):
        return "schedule.html", views.schedule_view(schedules, 120.0 if "/csv/" in request.url.path else 3.0)

    def spc_page(request: Request, s: Session):
        return "spc.html", views.spc_view(shop)

    def capa_page(request: Request, s: Session):
        return "tables.html", {"title": "Corrective actions", **views.capa_view(shop)}

    def metal_page(request: Request, s: Session):
        ctx = views.metal_view(shop, views.parse_day(q(request, "from")), views.parse_day(q(request, "to")))
        return "metal.html", ctx

    viewers: dict[str, Callable[[Request, Session], Any]] = {
        "board": board, "kpis": kpis, "schedule": schedule, "spc": spc_page, "capa": capa_page, "metal": metal_page}

    def csv_of(page: str):
        def view(request: Request, s: Session) -> Response:
            _, ctx = viewers[page](request, s)
            return table_csv(ctx["tables"], request.path_params["table"], page)
        return view

    def job_csv(request: Request, s: Session) -> Response:
        ctx = views.job_view(shop, job_id(request), s.user.role)
        return table_csv(ctx["tables"], request.path_params["table"], ctx["job"].id)

    # -- photos: a signed-in user sees a job's photos; the client only those marked for them --
    def photo_file(sha: str, thumb: bool) -> Path:
        if not _HEX64.match(sha):
            raise NotFound("no such photo")
        with shop.journal.lock:
            known = shop.journal.query("SELECT 1 FROM photos WHERE sha256 = ? LIMIT 1", [sha])
        if not known:
            raise NotFound("no such photo")
        base = shop.photos_dir / sha[:2]
        for p in ((base / f"{sha}.thumb.jpg") if thumb else None, base / f"{sha}.jpg", shop.photos_dir / f"{sha}.jpg"):
            if p is not None and p.is_file():
                return p
        if hub_on:
            from floorkiosk.workshop import sync  # psycopg, loaded only on sites that have a hub

            return sync.fetch_photo(shop, sha)
        raise NotFound("the photo's file is not on this machine")

    def photo_response(sha: str, thumb: bool) -> Response:
        try:
            path = photo_file(sha, thumb)
        except (NotFound, FloorkioskError):
            return Response("no such photo", 404, headers=headers())
        return FileResponse(path, media_type="image/jpeg", headers={**headers(), "Cache-Control": "private, max-age=86400"})

    async def photo(request: Request) -> Response:
        s, _ = session_of(request)
        if s is None:
            return Response("sign in first", 401, headers=headers())
        return await run_in_threadpool(photo_response, request.path_params["sha"], request.path_params["kind"] == "thumb")

    # -- signing in and out --
    async def login_get(request: Request) -> Response:
        s, _ = session_of(request)
        if s is not None:
            return RedirectResponse("/", 303, headers=headers())
        return login_page(request, 200)

    async def login_post(request: Request) -> Response:
        form = await request.form()
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        sent = str(form.get("csrf") or "")
        if not cookie or not hmac.compare_digest(cookie, sent):
            return problem(403, "Sign-in refused", "The form was not this site's own (its token did not match): "
                                                   "open the sign-in page again.")
        name = str(form.get("name") or "").strip().lower()[:64]
        password = str(form.get("password") or "")[:1024]
        addr = request.client.host if request.client else "?"
        wait = limit.wait(f"ip:{addr}", f"user:{name}")
        if wait > 0:
            resp = problem(429, "Too many sign-ins", f"Too many failed sign-ins: try again in {int(wait) + 1} s.")
            resp.headers["Retry-After"] = str(int(wait) + 1)
            return resp
        user = await run_in_threadpool(users.check, name, password)
        if user is None:
            limit.failed(f"ip:{addr}", f"user:{name}")
            return login_page(request, 401, "Wrong name or password.")
        s = sessions.start(user)
        nxt = str(form.get("next") or "/")
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        resp = RedirectResponse(nxt, 303, headers=headers())
        # lax: a link to the board opened from a mail or a chat arrives signed in; no page changes anything on a GET
        resp.set_cookie(COOKIE, s.token, max_age=int(sessions.seconds), httponly=True, samesite="lax",
                        secure=secure_cookies, path="/")
        resp.delete_cookie(CSRF_COOKIE, path="/login")
        return resp

    async def logout(request: Request) -> Response:
        s, _ = session_of(request)
        form = await request.form()
        if s is None or not hmac.compare_digest(s.csrf, str(form.get("csrf") or "")):
            return problem(403, "Not signed out", "The form was not this site's own.")
        sessions.end(s.token)
        resp = RedirectResponse("/login", 303, headers=headers())
        resp.delete_cookie(COOKIE, path="/")
        return resp

    # -- live --
    def sse(seq0: int):
        async def gen():
            seen = seq0
            while True:
                seen = await live.moved(seen, 15.0)
                yield {"event": "seq", "data": str(seen)}
        return EventSourceResponse(gen(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def events(request: Request) -> Response:
        s, _ = session_of(request)
        if s is None:
            return Response("sign in first", 401, headers=headers())
        return sse(_since(request, live.seq))

    # -- the wall --
    async def wall(request: Request) -> Response:
        token = request.path_params["token"]
        if not await run_in_threadpool(users.wall_ok, token):
            return problem(404, "Not found", "No such wall.")
        fragment = request.headers.get("x-fragment") == "1"
        seq = live.seq

        def make() -> str:
            with shop.journal.lock:
                ctx = views.board_view(shop, per_lane=6)
            return render("wall.html", user=None, fragment=fragment, seq=seq, page="wall",
                          live_url=f"/wall/{quote(token, safe='')}/events", **ctx)

        return html(await run_in_threadpool(pages.get, ("wall", fragment, seq), make))

    async def wall_events(request: Request) -> Response:
        if not await run_in_threadpool(users.wall_ok, request.path_params["token"]):
            return Response("no such wall", 404, headers=headers())
        return sse(_since(request, live.seq))

    # -- the client's link --
    def client_job(request: Request) -> str:
        with shop.journal.lock:
            return clientlinks.job_of_link(shop, request.path_params["job"], request.path_params["token"])

    async def client(request: Request) -> Response:
        try:
            jid = await run_in_threadpool(client_job, request)
        except NotFound:
            return problem(404, "This link does not open", "The link is not valid: it may have been withdrawn or have "
                                                           "expired. Ask the workshop for a new one.")
        fragment = request.headers.get("x-fragment") == "1"
        seq = live.seq
        base = f"/c/{quote(jid)}/{quote(request.path_params['token'], safe='')}"

        def make() -> str:
            with shop.journal.lock:
                ctx = views.client_view(shop, jid)
            return render("client.html", user=None, fragment=fragment, seq=seq, page="client",
                          live_url=f"{base}/events", base=base, **ctx)

        return html(await run_in_threadpool(make))

    async def client_photo(request: Request) -> Response:
        try:
            jid = await run_in_threadpool(client_job, request)
        except NotFound:
            return Response("no such link", 404, headers=headers())
        sha = request.path_params["sha"]

        def shown() -> bool:
            with shop.journal.lock:
                return sha in clientlinks.client_photos(shop, jid)

        if not await run_in_threadpool(shown):
            return Response("no such photo", 404, headers=headers())
        return await run_in_threadpool(photo_response, sha, request.path_params["kind"] == "thumb")

    async def client_events(request: Request) -> Response:
        try:
            await run_in_threadpool(client_job, request)
        except NotFound:
            return Response("no such link", 404, headers=headers())
        return sse(_since(request, live.seq))

    async def not_found(request: Request, exc: Exception) -> Response:
        return problem(404, "Not found", "There is no such page.")

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await live.start()
        if hub_on:
            pull.append(HubPull(shop).start())
        try:
            yield
        finally:
            for p in pull:
                await asyncio.to_thread(p.stop)
            await live.stop()
            schedules.close()

    routes = [
        Route("/", guarded("board", board)),
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/events", events),
        Route("/job/{job}", guarded("job", job)),
        Route("/job/{job}/csv/{table}", guarded("job", job_csv, download=True)),
        Route("/photo/{kind}/{sha}", photo),
        Route("/kpis", guarded("kpis", kpis)),
        Route("/schedule", guarded("schedule", schedule, lock=False)),
        Route("/spc", guarded("spc", spc_page)),
        Route("/capa", guarded("capa", capa_page)),
        Route("/metal", guarded("metal", metal_page)),
        *[Route(f"/csv/{page}/{{table}}", guarded(page, csv_of(page), download=True, lock=page != "schedule"))
          for page in viewers],
        Route("/wall/{token}", wall),
        Route("/wall/{token}/events", wall_events),
        Route("/c/{job}/{token}", client),
        Route("/c/{job}/{token}/events", client_events),
        Route("/c/{job}/{token}/photo/{kind}/{sha}", client_photo),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: not_found})
    app.state.live = live
    app.state.pages = pages
    app.state.users = users
    app.state.sessions = sessions
    return app


def _since(request: Request, default: int) -> int:
    try:
        return int(request.query_params.get("seq", default))
    except ValueError:
        return default
