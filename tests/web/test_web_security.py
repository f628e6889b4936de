"""The web board against bad input and bad actors: unknown jobs, expired and guessed tokens, injection in every
parameter, CSRF on the sign-in form, too many sign-ins. Each guardrail is tried both ways."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from webkit import INJECT, PASSWORD, csrf_of, sign_in
from floorkiosk.workshop import clientlinks

RAW = "<script>alert('x')</script>"


def _escaped(text: str) -> None:
    assert RAW not in text and "<script>alert" not in text


def test_an_unknown_job_is_404_and_a_known_one_200(client, floor):
    sign_in(client)
    assert client.get("/job/J000001").status_code == 200
    for bad in ("J999999", "J0000001x", "nothing", quote(RAW, safe=""), "1%20OR%201=1", "J000001'--"):
        r = client.get(f"/job/{bad}")
        assert r.status_code == 404, bad
        _escaped(r.text)
    assert client.get("/no/such/page").status_code == 404


@pytest.mark.parametrize("param", ["bench", "person", "alloy", "route"])
def test_board_filters_escape_what_they_are_given(client, floor, param):
    sign_in(client)
    assert client.get("/", params={param: ""}).status_code == 200
    for value in (RAW, "' OR 1=1 --", "x\"; DROP TABLE jobs; --"):
        r = client.get("/", params={param: value})
        assert r.status_code == 400, (param, value)
        _escaped(r.text)
        assert "&lt;script&gt;" in r.text or "&#39;" in r.text or "&#34;" in r.text
    assert client.get("/").status_code == 200  # the tables are still there


@pytest.mark.parametrize("path", ["/kpis", "/metal"])
def test_period_parameters_escape_what_they_are_given(client, floor, path):
    sign_in(client)
    assert client.get(path, params={"from": "2026-11-01", "to": "2026-11-30"}).status_code == 200
    for key in ("from", "to"):
        r = client.get(path, params={key: RAW})
        assert r.status_code == 400
        _escaped(r.text)


def test_markup_recorded_in_a_job_is_shown_as_text(client, floor):
    sign_in(client)
    for page in (client.get("/"), client.get("/job/J000003"), client.get("/job/J000003", headers={"X-Fragment": "1"})):
        assert page.status_code == 200
        _escaped(page.text)
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text


def test_csv_and_photo_parameters_escape_what_they_are_given(client, floor):
    sign_in(client)
    for path in (f"/csv/board/{quote(RAW, safe='')}", f"/job/J000001/csv/{quote(RAW, safe='')}",
                 f"/photo/full/{quote(RAW, safe='')}", "/photo/full/" + "0" * 64, "/photo/full/..%2F..%2Fsite.key"):
        r = client.get(path)
        assert r.status_code == 404, path
        _escaped(r.text)


def test_the_sign_in_form_needs_its_csrf_token(client, floor):
    form = {"name": "eva", "password": PASSWORD, "next": "/"}
    r = client.post("/login", data=form)  # no token, no cookie: another site's form
    assert r.status_code == 403 and "fk_session" not in r.cookies
    page = client.get("/login")
    r = client.post("/login", data={**form, "csrf": "guessed" + csrf_of(page.text)[7:]})
    assert r.status_code == 403 and client.get("/").status_code == 401
    r = client.post("/login", data={**form, "csrf": csrf_of(client.get("/login").text)})
    assert r.status_code == 303 and client.get("/").status_code == 200


def test_signing_out_needs_the_sessions_token(client, floor):
    sign_in(client)
    assert client.post("/logout", data={"csrf": "nope"}).status_code == 403
    assert client.get("/").status_code == 200
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    assert client.get("/").status_code == 401


def test_too_many_failed_sign_ins_are_answered_429_until_the_window_passes(client, floor, tick):
    for _ in range(5):
        assert sign_in(client, "eva", "wrong password!").status_code == 401
    r = sign_in(client, "eva", PASSWORD)  # even the right password, while the limit holds
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert client.get("/").status_code == 401
    tick.t += 301
    assert sign_in(client, "eva", PASSWORD).status_code == 303
    assert client.get("/").status_code == 200


def test_a_wrong_password_or_name_is_refused_and_the_right_one_is_not(client, floor):
    assert sign_in(client, "eva", "not the password").status_code == 401
    assert sign_in(client, "nobody", PASSWORD).status_code == 401
    assert sign_in(client, "eva", PASSWORD).status_code == 303


def test_a_session_expires(client, floor, tick):
    sign_in(client)
    assert client.get("/").status_code == 200
    tick.t += 3599
    assert client.get("/").status_code == 200
    tick.t += 2
    r = client.get("/")
    assert r.status_code == 401 and "session has ended" in r.text
    assert client.get("/events").status_code == 401
    assert client.get(f'/photo/full/{floor["photo"]}').status_code == 401


def test_a_guessed_session_cookie_opens_nothing(client, floor):
    client.cookies.set("fk_session", "A" * 43)
    assert client.get("/").status_code == 401
    assert client.get(f'/photo/full/{floor["photo"]}').status_code == 401


def test_the_passwords_are_kept_as_slow_hashes(shop, floor):
    import json
    import os
    import stat

    path = shop.dir / "web-users.json"
    data = json.loads(path.read_text())
    assert PASSWORD not in path.read_text()
    assert data["users"]["eva"]["hash"].startswith("scrypt$16384$8$1$")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert floor["users"].check("eva", PASSWORD) is not None and floor["users"].check("eva", PASSWORD + "x") is None


# -- the client's link ---------------------------------------------------------------------------

def test_the_clients_link_shows_one_job_and_nothing_else(client, shop, floor, clock):
    j1 = floor["jobs"][0]
    token, expires = clientlinks.make_link(shop, j1, "farid")
    r = client.get(f"/c/{j1}/{token}")
    assert r.status_code == 200
    t = r.text
    assert "Halo ring" in t and "CAD approval" in t and "2027-03-01" in t
    for secret in ("Aisha", "Bello", "Dev ", "Farid", "gram", " g<", "J000002", "Signet", "GIA", "/job/", "Sign out"):
        assert secret not in t, secret
    # no photo until a supervisor marks one for the client
    assert floor["photo"] not in t
    assert client.get(f'/c/{j1}/{token}/photo/full/{floor["photo"]}').status_code == 404
    clientlinks.mark_photo(shop, j1, floor["photo"][:10], "eva")
    t = client.get(f"/c/{j1}/{token}").text
    assert f'/photo/full/{floor["photo"]}' in t
    ph = client.get(f'/c/{j1}/{token}/photo/full/{floor["photo"]}')
    assert ph.status_code == 200 and ph.content[:2] == b"\xff\xd8"
    clientlinks.mark_photo(shop, j1, floor["photo"], "eva", shown=False)
    assert client.get(f'/c/{j1}/{token}/photo/full/{floor["photo"]}').status_code == 404


def test_a_link_opens_only_its_own_job(client, shop, floor):
    j1, j2, _ = floor["jobs"]
    token, _ = clientlinks.make_link(shop, j1, "farid")
    assert client.get(f"/c/{j1}/{token}").status_code == 200
    assert client.get(f"/c/{j2}/{token}").status_code == 404


def test_a_guessed_withdrawn_or_expired_link_does_not_open(client, shop, floor, clock):
    j1 = floor["jobs"][0]
    token, expires = clientlinks.make_link(shop, j1, "farid", days=10)
    guessed = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (guessed, "x" * 32, quote(RAW, safe=""), "' OR 1=1 --"):
        r = client.get(f"/c/{j1}/{bad}")
        assert r.status_code == 404
        _escaped(r.text)
    assert client.get(f"/c/{quote(RAW, safe='')}/{token}").status_code == 404
    assert client.get(f"/c/{j1}/{token}").status_code == 200
    clock.advance(days=11)
    assert client.get(f"/c/{j1}/{token}").status_code == 404  # expired
    clock.advance(days=-11)
    assert client.get(f"/c/{j1}/{token}").status_code == 200
    other, _ = clientlinks.make_link(shop, j1, "farid")
    assert clientlinks.revoke_links(shop, j1, "farid", reason="wrong client") == 2
    assert client.get(f"/c/{j1}/{token}").status_code == 404
    assert client.get(f"/c/{j1}/{other}").status_code == 404
    assert client.get(f"/c/{j1}/{token}/events").status_code == 404
    fresh, _ = clientlinks.make_link(shop, j1, "farid")
    assert client.get(f"/c/{j1}/{fresh}").status_code == 200


def test_only_a_supervisor_marks_a_photo_for_the_client(shop, floor):
    from floorkiosk.errors import NotFound, Refused

    j1, j2, _ = floor["jobs"]
    with pytest.raises(Refused, match="not a supervisor"):
        clientlinks.mark_photo(shop, j1, floor["photo"], "dev")
    with pytest.raises(NotFound):
        clientlinks.mark_photo(shop, j2, floor["photo"], "eva")  # not a photo of that job
    assert clientlinks.mark_photo(shop, j1, floor["photo"], "eva") == floor["photo"]
    assert clientlinks.client_photos(shop, j1) == [floor["photo"]]


def test_the_journal_keeps_the_links_hash_never_the_token(shop, floor):
    token, _ = clientlinks.make_link(shop, floor["jobs"][0], "farid")
    raw = b"".join(bytes(str(r), "utf-8") for r in shop.journal.query("SELECT payload FROM events"))
    assert token.encode() not in raw and clientlinks.token_hash(token).encode() in raw


# -- the wall ------------------------------------------------------------------------------------

def test_the_wall_opens_with_its_token_only(client, floor):
    users = floor["users"]
    assert client.get("/wall/" + "A" * 32).status_code == 404
    token = users.new_wall()
    r = client.get(f"/wall/{token}")
    assert r.status_code == 200 and 'id="lane-cad-approval"' in r.text and "/static/wall.js" in r.text
    _escaped(r.text)
    assert "Sign out" not in r.text
    assert users.revoke_walls() == 1
    assert client.get(f"/wall/{token}").status_code == 404
    assert client.get(f"/wall/{token}/events").status_code == 404


def test_a_page_kept_for_one_user_is_never_shown_to_another(app, floor):
    from starlette.testclient import TestClient

    with TestClient(app, follow_redirects=False) as a, TestClient(app, follow_redirects=False) as b:
        sign_in(a, "eva")
        sign_in(b, "sue")
        pa, pb = a.get("/").text, b.get("/").text
        assert "eva · manager" in pa and "sue · supervisor" in pb and "eva" not in pb.split("<main")[0]
        assert csrf_of(pa) != csrf_of(pb)
        # the live body is the same for both: it names no one
        fa = a.get("/", headers={"X-Fragment": "1"}).text
        assert fa == b.get("/", headers={"X-Fragment": "1"}).text and "Sign out" not in fa


@pytest.mark.parametrize("https", [False, True])
def test_cookies_go_over_https_only_when_served_so(shop, floor, https):
    from starlette.testclient import TestClient

    from floorkiosk.web.app import make_app

    with TestClient(make_app(shop, users=floor["users"], hub=False, secure_cookies=https),
                    base_url="https://testserver", follow_redirects=False) as c:
        r = sign_in(c)
        cookie = r.headers["set-cookie"]
        assert "fk_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert ("Secure" in cookie) is https
