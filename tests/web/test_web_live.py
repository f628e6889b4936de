"""Every open page follows the journal: a commit anywhere on the site reaches the page within a second."""

from __future__ import annotations

import queue
import threading
import time

import httpx2 as httpx  # the httpx fork Starlette's TestClient uses (the test extra)

from webkit import CHECKLIST, PASSWORD, csrf_of


def _signed_in(url: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=10, follow_redirects=False)
    r = c.post("/login", data={"csrf": csrf_of(c.get("/login").text), "name": "eva", "password": PASSWORD, "next": "/"})
    assert r.status_code == 303
    return c


def _listen(c: httpx.Client, path: str, got: queue.Queue, stop: threading.Event) -> None:
    try:
        with c.stream("GET", path, timeout=httpx.Timeout(10, read=30)) as r:
            got.put(("status", r.status_code))
            for line in r.iter_lines():
                if line.startswith("data:"):
                    got.put(("seq", int(line[5:].strip()), time.monotonic()))
                if stop.is_set():
                    return
    except httpx.HTTPError:
        if not stop.is_set():  # the test closed the connection when it was done with it
            raise


def test_a_finish_at_a_bench_reaches_an_open_board_within_a_second(served, tmp_path, floor):
    from floorkiosk.workshop import verbs
    from floorkiosk.workshop.site import open_shop

    c = _signed_in(served.url)
    page = c.get("/")
    seq = int(page.text.split('data-seq="')[1].split('"')[0])
    assert 'id="lane-consultation"' in page.text
    assert "J000002" in page.text.split('id="lane-consultation"')[1].split("</article>")[0]
    got: queue.Queue = queue.Queue()
    stop = threading.Event()
    t = threading.Thread(target=_listen, args=(c, f"/events?seq={seq}", got, stop), daemon=True)
    t.start()
    assert got.get(timeout=10) == ("status", 200)
    # the kiosk of the design bench: another connection to the site's journal, as another process has
    kiosk = open_shop(served_site(floor))
    try:
        verbs.start(kiosk, "J000002", "dev", "design")
        verbs.finish(kiosk, "J000002", "dev", "design", checklist=CHECKLIST)
        committed = time.monotonic()
        after = kiosk.journal.position()
    finally:
        kiosk.close()
    while True:
        kind, n, at = got.get(timeout=5)
        if n >= after:
            break
    assert at - committed <= 1.0, f"{at - committed:.3f} s"
    stop.set()
    body = c.get("/", headers={"X-Fragment": "1"}).text
    assert "<html" not in body  # the page's body, to put in place without a reload
    assert "J000002" in body.split('id="lane-cad-approval"')[1].split("</article>")[0]
    assert "J000002" not in body.split('id="lane-consultation"')[1].split("</article>")[0]
    c.close()


def test_the_live_feed_needs_a_session_a_wall_token_or_a_link(served, floor):
    with httpx.Client(base_url=served.url, timeout=10) as c:
        assert c.get("/events").status_code == 401
        assert c.get("/wall/" + "B" * 32 + "/events").status_code == 404
        assert c.get("/c/J000001/" + "C" * 32 + "/events").status_code == 404


def served_site(floor):
    return floor["users"].path.parent
