"""The PostgreSQL hub: its schema and bench roles, and the push, pull and audit statements the benches use.

One hub holds every bench's events in one order (`hub_seq`), each event once (unique by id), each
bench's chain whole and in its own order. A bench trusts no other bench, and the hub trusts none:

- a bench role cannot write the events table at all; it pushes through `push_events`, a function
  that runs with the hub owner's rights and checks in the database that the origin is registered
  to the caller's role, that each event follows that origin's chain on the hub (number and
  prev_hash), and that its hash is the SHA-256 of its own header and payload;
- origins are registered to a role by an admin (`hub init`, `hub add-origin`), never by a bench;
- pushes are serialised by a row lock on a table no bench may touch (`push_lock`), taken inside
  the function, so hub_seq order is commit order and a bench that pulls "everything after N" never
  skips an event committed late; an advisory lock, which any role may take, would let one bench
  stall every push;
- a bench role may not create temporary tables or objects in any schema, and takes numbers from
  the hub at most MAX_BLOCK at a time.

The hub's schema is named in the address (``?options=-csearch_path%3Dname``), else ``floorkiosk``;
the bench roles are named after it, so several hubs can share one PostgreSQL server.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from floorkiosk.domain import events as ev
from floorkiosk.domain.config import load_site
from floorkiosk.errors import FloorkioskError
from floorkiosk.store import hub_anchors
from floorkiosk.store.rows import HUB_EVENT_COLS, AuditProblem, ChainAudit, event_of_hub_row

DEFAULT_SCHEMA = "floorkiosk"
CREDENTIALS_FILE = "hub.toml"  # in a kiosk's site folder: its own role and password (mode 0600)
MAX_PUSH = 5000  # events per push_events call
MAX_BLOCK = 1000  # job or batch numbers per reserve_numbers call
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


class HubError(FloorkioskError):
    """The hub refused or could not do something; the message never holds a password."""


class NotRegistered(HubError):
    """This kiosk's origin is not registered to its role on the hub: an admin registers it."""


class Forked(HubError):
    """This kiosk's journal is behind its own history on the hub, or differs from it (a restored or
    truncated journal): nothing more is sent until `floorkiosk sync recover` brings it back."""


# -- addresses and secrets ------------------------------------------------------------------------

_URL_SCHEMES = ("postgresql://", "postgres://")
_UNREADABLE = "(a hub address that cannot be read; not shown)"


def dsn_parts(dsn: str) -> dict[str, str]:
    """The address's parts as libpq reads them (psycopg's own parser, both the URL and the key=value
    form). HubError, repeating nothing of the text, when it cannot be read, or is read in a way that
    puts a password where it would be shown: in a URL a password's / or @ must be percent-encoded
    (%2F, %40), else libpq takes a piece of it for the host, port or database."""
    try:
        parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    except psycopg.Error as exc:
        # libpq's message quotes pieces of the text, which may be the password: they are left out
        why = re.sub(r'"[^"]*"', '"…"', " ".join(str(exc).split()))
        raise HubError(f"the hub address cannot be read ({why}); it is not shown, as it may hold a password") from None
    misread = any("@" in parts.get(k, "") for k in ("host", "hostaddr", "port", "dbname"))
    if misread or not re.fullmatch(r"[0-9,]*", parts.get("port", "")):
        raise HubError("the hub address cannot be read as meant (it is not shown, as it may hold a password): "
                       "in a postgresql:// address, write a password's / as %2F and @ as %40, or write the "
                       "address as key=value pairs (host=… user=… password='…' dbname=…); a port is a number")
    return parts


def mask_dsn(dsn: str | None) -> str:
    """The address with any password replaced by ***: the only form that is ever shown or logged.

    Built from the parts psycopg reads, never from the text itself, so no spelling of a password
    (/ @ : ? # in it, quoted, percent-encoded) comes through; an address that cannot be read is not
    shown at all.
    """
    if not dsn:
        return ""
    try:
        parts = dsn_parts(dsn)
    except HubError:
        return _UNREADABLE
    if "password" in parts:
        parts["password"] = "***"
    if not dsn.lstrip().startswith(_URL_SCHEMES):
        return make_conninfo("", **parts)
    scheme = dsn.lstrip().split("://", 1)[0]
    user, password = parts.pop("user", None), parts.pop("password", None)
    hosts = parts.pop("host", "").split(",")
    ports = parts.pop("port", "").split(",")
    dbname = parts.pop("dbname", None)
    if len(ports) < len(hosts):
        ports += [ports[-1] if ports[-1] and len(ports) == 1 else ""] * (len(hosts) - len(ports))
    netloc = ",".join((f"[{h}]" if ":" in h else quote(h, safe=""))
                      + (f":{p}" if p else "") for h, p in zip(hosts, ports))
    auth = ""
    if user is not None:
        auth = quote(user, safe="") + (f":{password}" if password else "") + "@"
    elif password:
        parts = {"password": password, **parts}
    query = "&".join(f"{k}={v if k == 'password' else quote(v, safe='')}" for k, v in parts.items())
    return (f"{scheme}://{auth}{netloc}" + (f"/{quote(dbname, safe='')}" if dbname is not None else "")
            + (f"?{query}" if query else ""))


_DSN_IN_TEXT = re.compile(r"postgres(?:ql)?://[^\s'\"]+")
_PASSWORD_IN_TEXT = re.compile(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&]*)")


def scrub(text: str, *secret_values: str | None) -> str:
    """Text from a driver or server with every known secret taken out (as written, percent-encoded or
    quoted), and every address in it masked."""
    for s in secret_values:
        if s:
            for form in sorted({s, quote(s, safe=""), quote(s), s.replace("'", "\\'")}, key=len, reverse=True):
                text = text.replace(form, "***")
    text = _DSN_IN_TEXT.sub(lambda m: mask_dsn(m.group(0)), text)
    return _PASSWORD_IN_TEXT.sub(r"\1***", text)


@dataclass(frozen=True)
class HubAddress:
    """Where the hub is and who this kiosk is there. `str()` shows it masked."""

    dsn: str  # the site's hub address (from site.toml), possibly with a user of its own
    user: str | None = None  # this kiosk's role, from hub.toml
    password: str | None = None
    bench: str | None = None

    def __str__(self) -> str:
        shown = mask_dsn(self.dsn)
        return f"{shown} as {self.user}" if self.user else shown

    __repr__ = __str__

    @property
    def schema(self) -> str:
        return schema_of(self.dsn)

    def kwargs(self) -> dict:
        kw: dict = {}
        if self.user:
            kw["user"] = self.user
        if self.password is not None:
            kw["password"] = self.password
        return kw

    def scrub(self, text: str) -> str:
        try:
            password = dsn_parts(self.dsn).get("password")
        except HubError:
            password = None
        return scrub(text, self.password, password)


def schema_of(dsn: str) -> str:
    """The hub's schema: from `options=-c search_path=NAME` in the address, else floorkiosk."""
    opts = dsn_parts(dsn).get("options") or ""
    m = re.search(r"-c\s*search_path\s*=\s*([A-Za-z0-9_]+)", str(opts))
    name = m.group(1).lower() if m else DEFAULT_SCHEMA
    if not _IDENT.match(name):
        raise HubError(f"hub schema name {name!r} must be lower-case letters, digits and _")
    return name


def role_name(schema: str, bench: str) -> str:
    return f"{schema}_{bench.replace('-', '_')}"[:63]


def group_role(schema: str) -> str:
    return f"{schema}_benches"[:63]


def channel(schema: str) -> str:
    return f"{schema}_events"[:63]


def read_credentials(site_dir: str | Path) -> dict:
    """This kiosk's hub account from hub.toml, or {} (then the site's address is used as it is)."""
    path = Path(site_dir) / CREDENTIALS_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise HubError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"user", "password", "bench"}
    if unknown:
        raise HubError(f"{path}: unknown keys {', '.join(sorted(unknown))}; known: user, password, bench")
    return data


def address_for(site_hub: str, site_dir: str | Path) -> HubAddress:
    cred = read_credentials(site_dir)
    return HubAddress(site_hub, cred.get("user"), cred.get("password"), cred.get("bench"))


def write_credentials(path: Path, user: str, password: str, bench: str) -> None:
    """Write one bench's account readable by its owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# this bench's account on the hub: copy to the kiosk's site folder as hub.toml; keep private\n")
        f.write(f'user = "{user}"\npassword = "{password}"\nbench = "{bench}"\n')


# -- connecting -----------------------------------------------------------------------------------

def connect(address: HubAddress, *, origin: str = "", timeout: float = 3.0) -> psycopg.Connection:
    """An autocommit connection to the hub with its schema on the search path; HubError if it fails."""
    dsn_parts(address.dsn)  # an address libpq would misread is refused before it can echo a piece of it
    try:
        conn = psycopg.connect(
            address.dsn, autocommit=True, connect_timeout=max(1, int(timeout)),
            application_name=f"floorkiosk {origin}".strip()[:63],
            # A cut network must be noticed in seconds, not after the kernel's two hours.
            keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
            tcp_user_timeout=int(timeout * 1000) + 2000, **address.kwargs())
    except psycopg.Error as exc:
        raise HubError(f"cannot reach the hub at {address}: {address.scrub(' '.join(str(exc).split()))}") from None
    try:
        conn.execute("SELECT set_config('search_path', %s, false)", (address.schema,))
    except psycopg.Error as exc:
        conn.close()
        raise HubError(f"hub at {address}: {address.scrub(str(exc).strip())}") from None
    return conn


# -- creating the hub -----------------------------------------------------------------------------

def _header_sql(t: str, origin: str) -> str:
    """The SQL of Event.canonical() over a row `t` of pushed columns: the header as a JSON array
    (as json.dumps/orjson write it: compact, strings escaped as to_json escapes them), then the payload
    text exactly as sent."""
    def s(col: str) -> str:
        return f"coalesce(to_json({col})::text, 'null')"
    fields = [s(f"{t}.id"), s(origin), f"{t}.s::text", s(f"{t}.type"), s(f"{t}.job"), s(f"{t}.person"),
              s(f"{t}.bench"), s(f"{t}.ts"), s(f"{t}.ph")]
    return "'[' || " + " || ',' || ".join(fields) + f" || ']' || {t}.payload"


# The arrays push_events takes, one per column of the events it is given (the origin is one argument).
_PUSH_ARGS = ("p_ids text[], p_seqs bigint[], p_types text[], p_jobs text[], p_persons text[], p_benches text[],"
              " p_ts text[], p_payloads text[], p_prev text[], p_hashes text[]")
_PUSH_SIG = "push_events(text, text[], bigint[], text[], text[], text[], text[], text[], text[], text[], text[])"
_PUSHED = ("unnest(p_ids, p_seqs, p_types, p_jobs, p_persons, p_benches, p_ts, p_payloads, p_prev, p_hashes)"
           " WITH ORDINALITY AS t(id, s, type, job, person, bench, ts, payload, ph, h, ord)")

# SQLSTATEs of push_events' refusals, so the bench can say what happened in plain words.
FORKED, BROKEN = "FKFRK", "FKCHN"


def _ddl(schema: str) -> list[sql.Composable]:
    s = sql.Identifier(schema)
    grp = sql.Identifier(group_role(schema))
    # schema_of() allows only [a-z0-9_] in the name, so it can stand inside the functions' text.
    body = f"""
    DECLARE first_n bigint; used bigint;
    BEGIN
      IF p_count < 1 OR p_count > {MAX_BLOCK} THEN
        RAISE EXCEPTION 'a block holds 1 to {MAX_BLOCK} numbers, not %', p_count;
      END IF;
      IF NOT EXISTS (SELECT 1 FROM origins WHERE origin = p_origin AND role = session_user) THEN
        RAISE EXCEPTION 'origin % is not registered to role %', p_origin, session_user;
      END IF;
      -- a row lock (the counter's own): no lock a bench could take and hold outside this function
      INSERT INTO counters (kind, next) VALUES (p_kind, 1) ON CONFLICT DO NOTHING;
      SELECT next INTO first_n FROM counters WHERE kind = p_kind FOR UPDATE;
      -- numbers used before the hub existed (a kiosk that ran alone first) are never handed out again
      IF p_kind = 'job' THEN
        SELECT coalesce(max(substring(job from 2)::bigint), 0) + 1 INTO used
          FROM events WHERE type = 'job.created' AND job ~ '^J[0-9]{{1,12}}$';
      ELSE
        SELECT coalesce(max(substring(payload::jsonb->>'batch' from 2)::bigint), 0) + 1 INTO used
          FROM events WHERE type = 'batch.created' AND job IS NULL AND payload::jsonb->>'batch' ~ '^B[0-9]{{1,12}}$';
      END IF;
      first_n := greatest(first_n, used);
      UPDATE counters SET next = first_n + p_count WHERE kind = p_kind;
      INSERT INTO number_blocks (kind, first_n, last_n, origin) VALUES (p_kind, first_n, first_n + p_count - 1, p_origin);
      RETURN first_n;
    END"""
    push_body = f"""
    DECLARE n bigint; head text; cnt integer; k integer; bad record; inserted integer; i integer;
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM origins WHERE origin = p_origin AND role = session_user) THEN
        RAISE EXCEPTION 'origin % is not registered to role %', p_origin, session_user USING ERRCODE = '42501';
      END IF;
      cnt := coalesce(cardinality(p_ids), 0);
      IF cnt = 0 THEN RETURN 0; END IF;
      IF cnt > {MAX_PUSH} THEN
        RAISE EXCEPTION 'a push holds at most {MAX_PUSH} events, not %', cnt;
      END IF;
      IF cardinality(p_seqs) <> cnt OR cardinality(p_types) <> cnt OR cardinality(p_jobs) <> cnt
         OR cardinality(p_persons) <> cnt OR cardinality(p_benches) <> cnt OR cardinality(p_ts) <> cnt
         OR cardinality(p_payloads) <> cnt OR cardinality(p_prev) <> cnt OR cardinality(p_hashes) <> cnt THEN
        RAISE EXCEPTION 'the columns of a push hold different numbers of events';
      END IF;
      -- One pusher at a time, so hub_seq is handed out in commit order.
      PERFORM 1 FROM push_lock WHERE id = 1 FOR UPDATE;
      SELECT origin_seq, hash INTO n, head FROM events WHERE origin = p_origin ORDER BY origin_seq DESC LIMIT 1;
      IF n IS NULL THEN n := 0; head := repeat('0', 64); END IF;
      -- events the hub already has (a push whose answer was lost) must be those very events
      SELECT t.s, t.id INTO bad FROM unnest(p_seqs, p_ids, p_hashes) WITH ORDINALITY AS t(s, id, h, ord)
        LEFT JOIN events e ON e.origin = p_origin AND e.origin_seq = t.s
        WHERE t.s <= n AND (e.id IS DISTINCT FROM t.id OR e.hash IS DISTINCT FROM t.h) ORDER BY t.ord LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'origin %: its event #% here is not the event #% the hub has: this journal has forked from its own history on the hub', p_origin, bad.s, bad.s
          USING ERRCODE = '{FORKED}';
      END IF;
      SELECT count(*) INTO k FROM unnest(p_seqs) AS t(s) WHERE t.s <= n;
      FOR i IN k + 1 .. cnt LOOP
        IF NOT json_object_text(p_payloads[i]) THEN
          RAISE EXCEPTION 'origin %: event #% has a payload that is not a JSON object', p_origin, p_seqs[i]
            USING ERRCODE = '{BROKEN}';
        END IF;
      END LOOP;
      SELECT x.s, x.why INTO bad FROM (
        SELECT t.ord, t.s, CASE
          WHEN t.s IS DISTINCT FROM n + (t.ord - k) THEN 'does not follow #' || n || ' (a gap, or out of order)'
          WHEN t.ph IS DISTINCT FROM coalesce(lag(t.h) OVER (ORDER BY t.ord), head) THEN 'does not chain to the event before it'
          WHEN t.h IS DISTINCT FROM encode(sha256(convert_to({_header_sql('t', 'p_origin')}, 'UTF8')), 'hex')
            THEN 'has a hash that does not match its contents'
          END AS why
        FROM {_PUSHED} WHERE t.ord > k) x
        WHERE x.why IS NOT NULL ORDER BY x.ord LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'origin %: event #% %; the hub has this chain up to #%', p_origin, bad.s, bad.why, n
          USING ERRCODE = '{BROKEN}';
      END IF;
      INSERT INTO events (id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash, hash)
        SELECT t.id, p_origin, t.s, t.type, t.job, t.person, t.bench, t.ts, t.payload, t.ph, t.h
        FROM {_PUSHED} WHERE t.ord > k ORDER BY t.ord;
      GET DIAGNOSTICS inserted = ROW_COUNT;
      IF inserted > 0 THEN
        PERFORM pg_notify('{channel(schema)}', p_origin);
      END IF;
      RETURN inserted;
    END"""
    return [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(s),
        sql.SQL("SELECT set_config('search_path', {}, true)").format(sql.Literal(schema)),
        sql.SQL("""CREATE TABLE IF NOT EXISTS events (
            hub_seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            origin text NOT NULL,
            origin_seq bigint NOT NULL CHECK (origin_seq > 0),
            type text NOT NULL, job text, person text, bench text, ts text NOT NULL,
            payload text NOT NULL,
            prev_hash text NOT NULL CHECK (length(prev_hash) = 64),
            hash text NOT NULL CHECK (length(hash) = 64),
            received_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (origin, origin_seq))"""),
        sql.SQL("CREATE INDEX IF NOT EXISTS events_job ON events (job, hub_seq)"),
        sql.SQL("""CREATE TABLE IF NOT EXISTS origins (
            origin text PRIMARY KEY,
            role name NOT NULL DEFAULT current_user,
            bench text,
            registered_at timestamptz NOT NULL DEFAULT now(),
            seen_at timestamptz,
            pulled_hub_seq bigint NOT NULL DEFAULT 0,
            queued integer NOT NULL DEFAULT 0)"""),
        sql.SQL("""CREATE TABLE IF NOT EXISTS photos (
            sha256 text PRIMARY KEY,
            data bytea NOT NULL,
            origin text,
            uploaded_at timestamptz NOT NULL DEFAULT now(),
            CHECK (sha256 = encode(sha256(data), 'hex')))"""),
        sql.SQL("CREATE TABLE IF NOT EXISTS counters (kind text PRIMARY KEY, next bigint NOT NULL)"),
        sql.SQL("""CREATE TABLE IF NOT EXISTS number_blocks (
            kind text NOT NULL, first_n bigint NOT NULL, last_n bigint NOT NULL, origin text NOT NULL,
            role name NOT NULL DEFAULT session_user, at timestamptz NOT NULL DEFAULT now())"""),
        # The push lock's one row: locked by push_events only; no bench has any right on the table.
        sql.SQL("CREATE TABLE IF NOT EXISTS push_lock (id integer PRIMARY KEY CHECK (id = 1))"),
        sql.SQL("INSERT INTO push_lock (id) VALUES (1) ON CONFLICT DO NOTHING"),
        sql.SQL("""CREATE OR REPLACE FUNCTION json_object_text(p text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
            SET search_path = pg_catalog AS $$
            BEGIN RETURN jsonb_typeof(p::jsonb) = 'object'; EXCEPTION WHEN others THEN RETURN false; END $$"""),
        sql.SQL("""CREATE OR REPLACE FUNCTION reserve_numbers(p_kind text, p_count integer, p_origin text)
            RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = {}, pg_temp AS {}""").format(
            s, sql.Literal(body)),
        sql.SQL("CREATE OR REPLACE FUNCTION push_events(p_origin text, " + _PUSH_ARGS + """)
            RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = {}, pg_temp
            SET lock_timeout = '20s' AS {}""").format(s, sql.Literal(push_body)),
        # Row-level security: everyone reads; a bench updates only its own origins' bookkeeping.
        sql.SQL("ALTER TABLE events ENABLE ROW LEVEL SECURITY"),
        sql.SQL("ALTER TABLE origins ENABLE ROW LEVEL SECURITY"),
        sql.SQL("DROP POLICY IF EXISTS read_all ON events"),
        sql.SQL("CREATE POLICY read_all ON events FOR SELECT USING (true)"),
        sql.SQL("DROP POLICY IF EXISTS insert_own ON events"),  # hubs made before push_events
        sql.SQL("DROP POLICY IF EXISTS read_all ON origins"),
        sql.SQL("CREATE POLICY read_all ON origins FOR SELECT USING (true)"),
        sql.SQL("DROP POLICY IF EXISTS claim ON origins"),  # hubs where a bench registered its own origins
        sql.SQL("DROP POLICY IF EXISTS own ON origins"),
        sql.SQL("CREATE POLICY own ON origins FOR UPDATE USING (role = current_user) WITH CHECK (role = current_user)"),
        sql.SQL("""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {}) THEN CREATE ROLE {} NOLOGIN; END IF;
            END $$""").format(sql.Literal(group_role(schema)), grp),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC").format(s),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(s, grp),
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(s),
        sql.SQL("REVOKE ALL ON FUNCTION reserve_numbers(text, integer, text) FROM PUBLIC"),
        sql.SQL("REVOKE ALL ON FUNCTION json_object_text(text) FROM PUBLIC"),
        sql.SQL("REVOKE ALL ON FUNCTION " + _PUSH_SIG + " FROM PUBLIC"),
        # Least privilege on the database too: no temporary tables, nothing created in public.
        sql.SQL("""DO $$ BEGIN
            EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
            EXECUTE format('REVOKE TEMPORARY, CREATE ON DATABASE %I FROM %I', current_database(), {});
            IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
              REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            END IF;
            END $$""").format(sql.Literal(group_role(schema))),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, grp),
        sql.SQL("GRANT SELECT ON events, origins, photos TO {}").format(grp),
        sql.SQL("GRANT UPDATE (bench, seen_at, pulled_hub_seq, queued) ON origins TO {}").format(grp),
        sql.SQL("GRANT INSERT (sha256, data, origin) ON photos TO {}").format(grp),
        sql.SQL("GRANT EXECUTE ON FUNCTION reserve_numbers(text, integer, text) TO {}").format(grp),
        sql.SQL("GRANT EXECUTE ON FUNCTION " + _PUSH_SIG + " TO {}").format(grp),
    ]


@dataclass
class InitResult:
    schema: str
    roles: dict[str, str]  # bench -> role
    credential_files: dict[str, Path]  # bench -> file holding its password


def init_hub(admin: HubAddress, benches: list[str], credentials_dir: Path | None = None,
             passwords: dict[str, str] | None = None, origins: dict[str, list[str]] | None = None) -> InitResult:
    """Create (or bring up to date) the hub's schema and one login role per bench.

    Run with an account that may create schemas and roles. Each new role gets a random password,
    written only to credentials_dir/<bench>.toml (0600). An existing role keeps its password unless
    a file is being written for it, in which case it gets a fresh one that matches the file.
    `origins` ({bench: [origin, ...]}) registers the kiosks that write as each bench's role: a bench
    writes only as the origins registered to its role, and cannot register one itself.
    """
    schema = admin.schema
    conn = connect(admin, origin="hub init")
    roles, files = {}, {}
    try:
        with conn.transaction():
            # Two hub inits on one cluster at once (two shops' schemas in one database) both rewrite the
            # database's own privileges, and PostgreSQL refuses the second ("tuple concurrently
            # updated"): they take turns. Only an admin runs init; a push never waits on this lock.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('floorkiosk hub init'))")
            for stmt in _ddl(schema):
                conn.execute(stmt)
            for stmt in hub_anchors.ddl(schema, group_role(schema)):  # the benches' signed checkpoints
                conn.execute(stmt)
            for bench in benches:
                role = role_name(schema, bench)
                roles[bench] = role
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                password = (passwords or {}).get(bench) or secrets.token_urlsafe(24)
                if not exists:
                    conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                        sql.Identifier(role), sql.Literal(password), sql.Identifier(group_role(schema))))
                elif credentials_dir is not None:
                    conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)))
                    conn.execute(sql.SQL("GRANT {} TO {}").format(
                        sql.Identifier(group_role(schema)), sql.Identifier(role)))
                # The bench's own code pushes in autocommit; a transaction left open (which could hold
                # the push lock) is ended by the server rather than stalling the other benches.
                conn.execute(sql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = '30s'").format(
                    sql.Identifier(role)))
                if credentials_dir is not None:
                    path = Path(credentials_dir) / f"{bench}.toml"
                    write_credentials(path, role, password, bench)
                    files[bench] = path
            for bench, names in (origins or {}).items():
                for origin in names:
                    _register_origin(conn, origin, bench, role_name(schema, bench))
    except psycopg.Error as exc:
        raise HubError(f"hub init at {admin} failed: {admin.scrub(str(exc).strip())}") from None
    finally:
        conn.close()
    return InitResult(schema, roles, files)


def _register_origin(conn: psycopg.Connection, origin: str, bench: str, role: str) -> None:
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        raise HubError(f"the hub has no role {role} for bench {bench}: run `floorkiosk hub init --bench {bench}` first")
    row = conn.execute("INSERT INTO origins (origin, role, bench) VALUES (%s, %s, %s) ON CONFLICT (origin) DO NOTHING"
                       " RETURNING role", (origin, role, bench)).fetchone()
    if row is None:
        held = conn.execute("SELECT role FROM origins WHERE origin = %s", (origin,)).fetchone()[0]
        if held != role:
            raise HubError(f"origin {origin!r} is already registered to hub role {held}; a kiosk's origin "
                           "writes as one bench only (give the kiosk its own origin in node.toml)")


def register_origin(admin: HubAddress, origin: str, bench: str) -> str:
    """An admin registers a kiosk's origin to a bench's role (`hub add-origin`); returns the role."""
    role = role_name(admin.schema, bench)
    conn = connect(admin, origin="hub add-origin")
    try:
        with conn.transaction():
            _register_origin(conn, origin, bench, role)
    except psycopg.errors.UndefinedTable:
        raise HubError("the hub has no floorkiosk schema yet: run `floorkiosk hub init` with an admin address") from None
    except psycopg.Error as exc:
        raise HubError(f"registering origin {origin!r} at {admin} failed: {admin.scrub(str(exc).strip())}") from None
    finally:
        conn.close()
    return role


def drop_hub(admin: HubAddress, benches: list[str] = ()) -> None:
    """Remove a hub's schema and its roles (tests; decommissioning)."""
    schema = admin.schema
    conn = connect(admin, origin="hub drop")
    try:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        names = [r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                            (schema.replace("_", r"\_") + r"\_%",))]
        for role in names:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    finally:
        conn.close()


# -- what a bench does ----------------------------------------------------------------------------

def register(conn: psycopg.Connection, origin: str, bench: str | None) -> None:
    """Check that this origin is registered to the connected role; NotRegistered (saying what an
    admin runs) if not. A bench never registers an origin itself: that is `hub add-origin`."""
    try:
        row = conn.execute("SELECT role, current_user FROM origins WHERE origin = %s", (origin,)).fetchone()
    except psycopg.errors.UndefinedTable:
        raise HubError("the hub has no floorkiosk schema yet: run `floorkiosk hub init` with an admin address") from None
    if row is None:
        raise NotRegistered(f"this kiosk's origin {origin!r} is not registered on the hub; an admin runs "
                            f"`floorkiosk hub add-origin {origin} --bench {bench or 'BENCH'}` (nothing was sent)")
    if row[0] != row[1]:
        raise NotRegistered(f"this kiosk's origin {origin!r} belongs to hub role {row[0]}, not {row[1]}; "
                            "give the kiosk its own origin in node.toml, or the account of its bench")


def hub_head(conn: psycopg.Connection, origin: str) -> tuple[int, str]:
    row = conn.execute("SELECT origin_seq, hash FROM events WHERE origin = %s ORDER BY origin_seq DESC LIMIT 1",
                       (origin,)).fetchone()
    return (row[0], row[1]) if row else (0, ev.GENESIS)


def push(conn: psycopg.Connection, origin: str, events: list[ev.Event], schema: str = "") -> int:
    """Send this origin's next events through push_events; return how many were new on the hub.

    The hub checks them in the database (see the module's docstring): events it already has (a
    push whose answer was lost) are skipped if they are the very same, the first new one must
    follow the hub's last event of this origin exactly (no gap, no fork), every hash must match.
    `conn` is in autocommit: the push commits as it returns. `schema` is no longer needed.
    """
    if not events:
        return 0
    total = 0
    for i in range(0, len(events), MAX_PUSH):
        todo = events[i:i + MAX_PUSH]
        cols = [list(c) for c in zip(*[(e.id, e.origin_seq, e.type, e.job, e.person, e.bench, e.ts, e.payload_json(),
                                        e.prev_hash, e.hash) for e in todo])]
        try:
            total += conn.execute(
                "SELECT push_events(%s, %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[],"
                " %s::text[], %s::text[], %s::text[], %s::text[])", [origin, *cols]).fetchone()[0]
        except psycopg.Error as exc:
            state = getattr(exc, "sqlstate", None)
            text = (exc.diag.message_primary if getattr(exc, "diag", None) else None) or str(exc).strip()
            if state == FORKED:
                raise Forked(f"{text}; nothing was sent: run `floorkiosk sync recover`") from None
            if state == BROKEN:
                raise HubError(f"the hub refused the push: {text}; nothing was sent: run `floorkiosk audit verify` "
                               "here and `floorkiosk audit verify --hub`") from None
            raise
    return total


def origin_events(conn: psycopg.Connection, origin: str, after: int, limit: int = 5000) -> list[tuple[int, ev.Event]]:
    """One origin's events on the hub after its number `after`, in its own order: [(hub_seq, event), ...]."""
    rows = conn.execute(f"SELECT {HUB_EVENT_COLS} FROM events WHERE origin = %s AND origin_seq > %s"
                        " ORDER BY origin_seq LIMIT %s", (origin, after, limit)).fetchall()
    return [(r[0], _event(r)) for r in rows]


def hash_at(conn: psycopg.Connection, origin: str, origin_seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM events WHERE origin = %s AND origin_seq = %s", (origin, origin_seq)).fetchone()
    return row[0] if row else None


def pull(conn: psycopg.Connection, after: int, limit: int = 5000) -> list[tuple[int, ev.Event]]:
    """Events after hub_seq `after`, in the hub's order: [(hub_seq, event), ...]."""
    rows = conn.execute(f"SELECT {HUB_EVENT_COLS} FROM events WHERE hub_seq > %s ORDER BY hub_seq LIMIT %s",
                        (after, limit)).fetchall()
    return [(r[0], _event(r)) for r in rows]


def _event(r: tuple) -> ev.Event:
    """An event from a hub row; one whose payload is not JSON keeps its text (the bench refuses it)."""
    try:
        return event_of_hub_row(r)
    except ValueError:
        e = ev.Event.stored(None, *r[1:9], "{}", r[10], r[11])
        e.__dict__["_pj"] = r[9]  # as stored: what its hash covers
        return e


def heartbeat(conn: psycopg.Connection, origin: str, pulled: int, queued: int, bench: str | None) -> None:
    conn.execute("UPDATE origins SET seen_at = now(), pulled_hub_seq = %s, queued = %s,"
                 " bench = coalesce(%s, bench) WHERE origin = %s", (pulled, queued, bench, origin))


def reserve_numbers(conn: psycopg.Connection, kind: str, count: int, origin: str) -> int:
    return conn.execute("SELECT reserve_numbers(%s, %s, %s)", (kind, count, origin)).fetchone()[0]


def missing_photos(conn: psycopg.Connection, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    have = {r[0] for r in conn.execute("SELECT sha256 FROM photos WHERE sha256 = ANY(%s)", (shas,))}
    return set(shas) - have


def put_photo(conn: psycopg.Connection, sha: str, data: bytes, origin: str) -> None:
    conn.execute("INSERT INTO photos (sha256, data, origin) VALUES (%s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
                 (sha, data, origin))


def get_photo(conn: psycopg.Connection, sha: str) -> bytes | None:
    row = conn.execute("SELECT data FROM photos WHERE sha256 = %s", (sha,)).fetchone()
    return bytes(row[0]) if row else None


@dataclass(frozen=True)
class BenchLag:
    origin: str
    bench: str | None
    role: str
    seen_ago_s: float | None  # seconds since the bench last synced
    behind: int  # events on the hub it has not pulled yet
    queued: int  # events it reported waiting to be pushed
    pushed: int  # events of its own on the hub


def lag(conn: psycopg.Connection) -> tuple[int, list[BenchLag]]:
    """(events on the hub, each bench's lag)."""
    total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    rows = conn.execute("""
        SELECT o.origin, o.bench, o.role, extract(epoch FROM now() - o.seen_at),
               (SELECT count(*) FROM events e WHERE e.hub_seq > o.pulled_hub_seq AND e.origin <> o.origin),
               o.queued, (SELECT count(*) FROM events e WHERE e.origin = o.origin)
        FROM origins o ORDER BY o.bench NULLS LAST, o.origin""").fetchall()
    return total, [BenchLag(r[0], r[1], r[2], float(r[3]) if r[3] is not None else None, r[4], r[5], r[6])
                   for r in rows]


# -- auditing -------------------------------------------------------------------------------------

def _stream(conn: psycopg.Connection, query: str, params: tuple = ()) -> Iterator[tuple]:
    with conn.transaction():
        with conn.cursor(name="fk_audit") as cur:
            cur.itersize = 5000
            cur.execute(query, params)
            yield from cur


def verify_hub(conn: psycopg.Connection) -> tuple[int, int, list[AuditProblem]]:
    """Walk every origin's chain on the hub: (events, origins, first break of each broken chain).

    Also checks that the hub's order keeps each bench's own order (hub_seq rises with origin_seq).
    """
    audit = ChainAudit("reached the hub out of its bench's order")
    for r in _stream(conn, f"SELECT {HUB_EVENT_COLS} FROM events ORDER BY origin, origin_seq"):
        audit.see(event_of_hub_row(r), r[0])
    return audit.events, audit.origins, audit.problems


def verify_hub_cli(site_dir: str | Path) -> int:
    """`floorkiosk audit verify --hub`: 0 when every bench's chain on the hub is intact, 1 if not."""
    site = load_site(Path(site_dir) / "config")
    if not site.settings.hub:
        raise HubError("this site has no hub: set hub = \"postgresql://…\" in site.toml")
    address = address_for(site.settings.hub, site_dir)
    conn = connect(address, origin="audit")
    try:
        count, origins, problems = verify_hub(conn)
    except psycopg.Error as exc:
        raise HubError(f"audit on the hub at {address} failed: {address.scrub(str(exc).strip())}") from None
    finally:
        conn.close()
    if problems:
        for p in problems:
            print(f"TAMPERED on the hub: {p}", file=sys.stderr)
        return 1
    print(f"hub ok: {count} events from {origins} benches, every chain intact ({address})")
    return 0
