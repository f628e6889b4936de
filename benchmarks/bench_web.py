"""The web board on the 100,000-job site: page times on the server beside a bare "hello" route, and 50 live pages.

On a copy of gen_site's cached site (benchmarks/gen_site.py), `floorkiosk web`'s app is served by
uvicorn in a process of its own, wrapped in a timing layer that measures each request inside the
server (from the request's arrival to the last byte of its answer handed to uvicorn), and beside it,
in the same process and the same server, a bare Starlette app with one route that answers "hello":

    board page, rendered afresh each time (every stage, cards, photos)   target p99 <= 100 ms
    job page, a different job each time                                  target p99 <= 50 ms
    the bare "hello" route                                               the baseline
    50 browsers on the board, live: a commit on the site (another        target p99 <= 1 s
    process, as a bench) seen by all: its server-sent event arrived, and
    the board's body fetched again showing it

    python benchmarks/bench_web.py [--jobs 100000] [--events 2000000] [--runs 300] [--clients 50]
                                   [--commits 20] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, pct, summary  # noqa: E402

HERE = Path(__file__).resolve().parent
PASSWORD = "bench password 1"


# -- the server process ----------------------------------------------------------------------------

class Timed:
    """ASGI: time each request inside the server, by the X-Bench label it carries; /_timings hands them out."""

    def __init__(self, app, hello) -> None:
        self.app, self.hello = app, hello
        self.samples: dict[str, list[float]] = defaultdict(list)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/_timings":
            body = json.dumps(self.samples).encode()
            self.samples = defaultdict(list)
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        label = dict(scope["headers"]).get(b"x-bench", b"").decode()
        app = self.hello if scope["path"] == "/hello" else self.app
        t0 = time.perf_counter()

        async def timed_send(msg):
            await send(msg)
            if label and msg["type"] == "http.response.body" and not msg.get("more_body"):
                self.samples[label].append(time.perf_counter() - t0)

        await app(scope, receive, timed_send)


def serve(site: str, port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from floorkiosk.web.app import make_app
    from floorkiosk.workshop.site import open_shop

    async def hello(request):
        return PlainTextResponse("hello")

    shop = open_shop(site)
    app = Timed(make_app(shop, hub=False), Starlette(routes=[Route("/hello", hello)]))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)


# -- the clients -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login(c) -> None:
    import re

    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"csrf": token, "name": "bench", "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text[:300]


async def live_clients(url: str, cookies, n: int, commits: int, commit) -> tuple[list[float], list[float]]:
    """n browsers on the board, each following /events and fetching the board's body when told; per commit,
    the delay until each heard of it, and until each had the body showing it."""
    import httpx

    heard: list[float] = []
    shown: list[float] = []
    state = {"at": 0.0, "seq": 0}
    got = [asyncio.Event() for _ in range(n)]
    ready = [asyncio.Event() for _ in range(n)]

    async def one(i: int, c: httpx.AsyncClient) -> None:
        seen = 0
        async with c.stream("GET", "/events", timeout=httpx.Timeout(30, read=None)) as r:
            ready[i].set()
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                seq = int(line[5:].strip())
                if seq <= seen:
                    continue
                seen = seq
                if state["seq"] and seq >= state["seq"]:
                    heard.append(time.monotonic() - state["at"])
                    body = (await c.get("/", headers={"X-Fragment": "1"})).text
                    assert 'id="lane-' in body
                    shown.append(time.monotonic() - state["at"])
                    got[i].set()

    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    clients = [httpx.AsyncClient(base_url=url, cookies=cookies, limits=limits) for _ in range(n)]
    tasks = [asyncio.create_task(one(i, c)) for i, c in enumerate(clients)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 60)
    for k in range(commits):
        for e in got:
            e.clear()
        seq = await asyncio.to_thread(commit, k)
        state["seq"], state["at"] = seq, time.monotonic()  # set after the commit returned: the commit's own time is not counted
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in got)), 30)
    for t in tasks:
        t.cancel()
    for c in clients:
        await c.aclose()
    return heard, shown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--commits", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="a 5,000-job site, for a smoke run")
    ap.add_argument("--serve", nargs=2, metavar=("SITE", "PORT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a.serve[0], int(a.serve[1]))
        return
    if a.quick:
        a.jobs, a.events = 5_000, 100_000
    import httpx

    import gen_site
    from floorkiosk.web.people import Users
    from floorkiosk.workshop import clientlinks
    from floorkiosk.workshop.site import open_shop

    print(f"machine: {machine()}")
    site = gen_site.working_copy(f"{gen_site.cache_dir(a.jobs, a.events).name}-web", a.jobs, a.events)
    Users(site).add("bench", "manager", PASSWORD)
    shop = open_shop(site)
    q = shop.journal.query
    n_events = shop.journal.count()
    jobs = [r[0] for r in q("SELECT job FROM kpi_jobs")]
    n_open = q("SELECT count(*) FROM kpi_jobs WHERE open = 1")[0][0]
    print(f"site: {len(jobs):,} jobs ({n_open:,} open), {n_events:,} events")
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(site), str(port)],
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        c = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
        deadline = time.monotonic() + 60
        while True:
            try:
                c.get("/hello")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the web server did not start"
                time.sleep(0.1)
        login(c)
        rng = random.Random(7)
        for _ in range(20):  # warm: templates compiled, the first reads cached by SQLite
            c.get("/", params={"warm": rng.random()})
            c.get(f"/job/{rng.choice(jobs)}")
            c.get("/hello")
        c.get("/_timings")
        # interleaved, so the machine's moods fall on every kind alike
        for i in range(a.runs):
            assert c.get("/hello", headers={"X-Bench": "hello"}).text == "hello"
            # a query the board ignores makes each request miss the page cache: rendered afresh
            r = c.get("/", params={"run": i}, headers={"X-Bench": "board"})
            assert r.status_code == 200 and 'id="lane-' in r.text
            r = c.get(f"/job/{rng.choice(jobs)}", headers={"X-Bench": "job"})
            assert r.status_code == 200, r.text[:300]
            c.get("/", headers={"X-Bench": "board-kept"})  # the same journal position: the kept page
        t = {k: v for k, v in c.get("/_timings").json().items()}
        size = len(c.get("/").content)
        hello = t["hello"]
        print(f'baseline: bare Starlette "hello" route, server time: {summary(hello)}')
        print(f"board page, rendered afresh ({size // 1024} KiB): {summary(t['board'])}  (target p99 <= 100 ms; "
              f"{pct(t['board'], 99) / pct(hello, 99):.0f}x hello's p99)")
        print(f"job page, a different job each time:  {summary(t['job'])}  (target p99 <= 50 ms; "
              f"{pct(t['job'], 99) / pct(hello, 99):.0f}x hello's p99)")
        print(f"board page at an unchanged position (kept):  {summary(t['board-kept'])}")

        # 50 live browsers; each commit is a client link made for a random job, from this process (a bench)
        def commit(k: int) -> int:
            clientlinks.make_link(shop, rng.choice(jobs), "farid")
            return shop.journal.position()

        heard, shown = asyncio.run(live_clients(url, dict(c.cookies), a.clients, a.commits, commit))
        print(f"{a.clients} live boards, {a.commits} commits: the event heard by each: {summary(heard)}")
        print(f"         the board's body with the commit fetched by each: {summary(shown)}  (target p99 <= 1 s)")
        verdict = [("board", pct(t["board"], 99) <= 0.1), ("job", pct(t["job"], 99) <= 0.05),
                   ("live", pct(shown, 99) <= 1.0)]
        print("targets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in verdict)
              + f" (p99 of {a.runs} requests each; {len(shown)} live refreshes)")
        c.close()
    finally:
        server.terminate()
        server.wait(10)
        shop.close()


if __name__ == "__main__":
    main()
