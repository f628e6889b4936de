"""Checkpoints on the PostgreSQL hub: each bench's signed chain heads, kept where the bench cannot take them back.

A bench's checkpoint log lives beside its journal, so whoever can cut the journal can cut the log
too. On a hub site each bench also sends its own chain's checkpoints to the hub, where its role may
add rows but never change or delete one; the first key a bench names for its origin is the one the
hub keeps (``checkpoint_keys``), so a key swapped later on the bench shows. `audit verify` on the
bench reads them back and compares its journal with them (store.anchors.compare).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floorkiosk.store.anchors import Head, Point, SiteKey, canonical, key_id, signed_by

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


def ddl(schema: str, group: str) -> list[sql.Composable]:
    """The checkpoint tables, their row-level security and the bench roles' grants (run by `hub init`)."""
    from psycopg import sql  # here, not above: only the hub's own code, which has loaded psycopg, calls this

    grp = sql.Identifier(group)
    return [
        sql.SQL("""CREATE TABLE IF NOT EXISTS checkpoint_keys (
            origin text PRIMARY KEY,
            public_key text NOT NULL CHECK (public_key ~ '^[0-9a-f]{64}$'),
            key_id text NOT NULL,
            role name NOT NULL DEFAULT current_user,
            registered_at timestamptz NOT NULL DEFAULT now())"""),
        sql.SQL("""CREATE TABLE IF NOT EXISTS checkpoints (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            origin text NOT NULL,
            origin_seq bigint NOT NULL CHECK (origin_seq > 0),
            hash text NOT NULL CHECK (length(hash) = 64),
            signed_at text NOT NULL,
            key_id text NOT NULL,
            sig text NOT NULL,
            role name NOT NULL DEFAULT current_user,
            received_at timestamptz NOT NULL DEFAULT now())"""),
        sql.SQL("CREATE INDEX IF NOT EXISTS checkpoints_origin ON checkpoints (origin, origin_seq)"),
        sql.SQL("ALTER TABLE checkpoint_keys ENABLE ROW LEVEL SECURITY"),
        sql.SQL("ALTER TABLE checkpoints ENABLE ROW LEVEL SECURITY"),
        sql.SQL("DROP POLICY IF EXISTS read_all ON checkpoint_keys"),
        sql.SQL("CREATE POLICY read_all ON checkpoint_keys FOR SELECT USING (true)"),
        sql.SQL("DROP POLICY IF EXISTS insert_own ON checkpoint_keys"),
        sql.SQL("""CREATE POLICY insert_own ON checkpoint_keys FOR INSERT WITH CHECK (role = current_user AND
            EXISTS (SELECT 1 FROM origins o WHERE o.origin = checkpoint_keys.origin AND o.role = current_user))"""),
        sql.SQL("DROP POLICY IF EXISTS read_all ON checkpoints"),
        sql.SQL("CREATE POLICY read_all ON checkpoints FOR SELECT USING (true)"),
        sql.SQL("DROP POLICY IF EXISTS insert_own ON checkpoints"),
        sql.SQL("""CREATE POLICY insert_own ON checkpoints FOR INSERT WITH CHECK (role = current_user AND
            EXISTS (SELECT 1 FROM origins o WHERE o.origin = checkpoints.origin AND o.role = current_user))"""),
        sql.SQL("REVOKE ALL ON checkpoint_keys, checkpoints FROM PUBLIC"),
        sql.SQL("GRANT SELECT ON checkpoint_keys, checkpoints TO {}").format(grp),
        sql.SQL("GRANT INSERT (origin, public_key, key_id) ON checkpoint_keys TO {}").format(grp),
        sql.SQL("GRANT INSERT (origin, origin_seq, hash, signed_at, key_id, sig) ON checkpoints TO {}").format(grp),
    ]


def _statement(origin: str, seq: int, h: str, at: str, kid: str) -> bytes:
    return canonical({"origin": origin, "seq": seq, "hash": h, "at": at, "key": kid})


class KeyMismatch(Exception):
    """The hub holds another key for this origin than the one this site signs with."""


def publish(conn: psycopg.Connection, key: SiteKey, head: Head, at: str) -> None:
    """Send one signed head of this bench's own chain to the hub (its key first, the first time)."""
    with conn.transaction():
        conn.execute("INSERT INTO checkpoint_keys (origin, public_key, key_id) VALUES (%s, %s, %s)"
                     " ON CONFLICT (origin) DO NOTHING", (head.origin, key.public_hex, key.id))
        row = conn.execute("SELECT key_id FROM checkpoint_keys WHERE origin = %s", (head.origin,)).fetchone()
        if row is not None and row[0] != key.id:
            raise KeyMismatch(f"the hub knows origin {head.origin} by key {row[0]}, but this site signs with {key.id}")
        conn.execute("INSERT INTO checkpoints (origin, origin_seq, hash, signed_at, key_id, sig)"
                     " VALUES (%s, %s, %s, %s, %s, %s)",
                     (head.origin, head.seq, head.hash, at, key.id,
                      key.sign(_statement(head.origin, head.seq, head.hash, at, key.id))))


def fetch(conn: psycopg.Connection, origins: list[str], own: str, key: SiteKey) -> tuple[dict[str, list[Point]], list[str]]:
    """The hub's checkpoints of `origins`, each checked with the key the hub keeps for its origin.

    Returns (origin -> points, problems): a row whose signature does not verify is named and not
    taken as evidence; so is this site's own origin known on the hub by another key.
    """
    problems: list[str] = []
    keys = {o: (pk, kid) for o, pk, kid in conn.execute(
        "SELECT origin, public_key, key_id FROM checkpoint_keys WHERE origin = ANY(%s)", (origins,))}
    if own in keys and keys[own][1] != key.id:
        problems.append(f"the hub knows origin {own} by key {keys[own][1]}, but this site's key is {key.id}: "
                        "the site key was replaced, or this is another site's folder")
    points: dict[str, list[Point]] = {}
    bad = 0
    with conn.transaction(), conn.cursor(name="fk_checkpoints") as cur:
        cur.itersize = 5000
        cur.execute("SELECT origin, origin_seq, hash, signed_at, key_id, sig FROM checkpoints"
                    " WHERE origin = ANY(%s) ORDER BY origin, origin_seq, id", (origins,))
        for origin, seq, h, at, kid, sig in cur:
            pinned = keys.get(origin)
            ok = (pinned is not None and kid == pinned[1] and key_id(pinned[0]) == pinned[1]
                  and signed_by(pinned[0], _statement(origin, seq, h, at, kid), sig))
            if not ok:
                bad += 1
                if bad <= 8:
                    problems.append(f"the hub's checkpoint of origin {origin} at seq {seq} (signed {at}) does not "
                                    "verify with the key the hub holds for that origin: it was changed or put in")
                continue
            points.setdefault(origin, []).append(Point(seq, h, at, "the hub"))
    return points, problems
