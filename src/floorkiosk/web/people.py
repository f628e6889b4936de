"""Who may open the web board: its users (set from the CLI, passwords kept as scrypt hashes), their sessions,
the limit on login attempts, and the wall's token.

The users live in the site folder's `web-users.json` (mode 0600), not in the journal: a password hash
has no place in a record every bench and the hub copy. Sessions live in the server's memory and end
after `SESSION_S` seconds, or when the server stops.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from floorkiosk.errors import NotFound, Refused
from floorkiosk.web.views import ROLES

USERS_FILE = "web-users.json"
SESSION_S = 8 * 3600  # a session ends this long after sign-in
# scrypt at n=2**14, r=8: about 16 MiB and tens of milliseconds a try, as OWASP's password storage sheet asks
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    h = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b(salt).decode()}${b(h).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, want = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(want))


# A hash to check against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY = hash_password(secrets.token_hex(8))


@dataclass(frozen=True)
class User:
    name: str
    role: str
    person: str | None


class Users:
    """The web's users and wall tokens in SITE/web-users.json."""

    def __init__(self, site_dir: str | Path) -> None:
        self.path = Path(site_dir) / USERS_FILE
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"users": {}, "walls": []}
        except (OSError, ValueError) as exc:
            raise Refused(f"{self.path}: cannot be read ({exc})") from None
        data.setdefault("users", {})
        data.setdefault("walls", [])
        return data

    def _write(self, data: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".web-users-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def add(self, name: str, role: str, password: str, person: str | None = None) -> User:
        if not _NAME.match(name):
            raise Refused(f"{name!r}: a user name is 1 to 32 lower-case letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise Refused(f"no role {role!r}; roles: {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise Refused(f"a password has at least {MIN_PASSWORD} characters")
        with self._lock:
            data = self._read()
            data["users"][name] = {"role": role, "person": person, "hash": hash_password(password)}
            self._write(data)
        return User(name, role, person)

    def remove(self, name: str) -> None:
        with self._lock:
            data = self._read()
            if name not in data["users"]:
                raise NotFound(f"no web user {name!r}")
            del data["users"][name]
            self._write(data)

    def list(self) -> list[User]:
        return [User(n, u["role"], u.get("person")) for n, u in sorted(self._read()["users"].items())]

    def check(self, name: str, password: str) -> User | None:
        u = self._read()["users"].get(name)
        ok = check_password(password, u["hash"] if u else _DUMMY)
        return User(name, u["role"], u.get("person")) if u and ok else None

    # -- the wall: a board on a screen nobody signs in to, opened by a token --
    def new_wall(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            data = self._read()
            data["walls"].append(hashlib.sha256(token.encode()).hexdigest())
            self._write(data)
        return token

    def revoke_walls(self) -> int:
        with self._lock:
            data = self._read()
            n = len(data["walls"])
            data["walls"] = []
            self._write(data)
        return n

    def wall_ok(self, token: str) -> bool:
        want = hashlib.sha256((token or "").encode()).hexdigest()
        return any(hmac.compare_digest(want, w) for w in self._read()["walls"])


@dataclass
class Session:
    token: str
    user: User
    csrf: str
    expires: float


class Sessions:
    """Signed-in browsers, by a random cookie; each ends SESSION_S seconds after sign-in."""

    def __init__(self, seconds: float = SESSION_S, clock=time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, user: User) -> Session:
        s = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(24), self.clock() + self.seconds)
        with self._lock:
            now = self.clock()
            for t in [t for t, x in self._by_token.items() if x.expires <= now]:
                del self._by_token[t]
            self._by_token[s.token] = s
        return s

    def get(self, token: str | None) -> tuple[Session | None, bool]:
        """The live session of a cookie, and whether the cookie named one that has expired."""
        if not token:
            return None, False
        with self._lock:
            s = self._by_token.get(token)
            if s is None:
                return None, False
            if s.expires <= self.clock():
                del self._by_token[token]
                return None, True
            return s, False

    def end(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)


class LoginLimit:
    """At most `tries` failed sign-ins in `window` seconds from one address, or for one name; then 429."""

    def __init__(self, tries: int = 5, window: float = 300.0, clock=time.monotonic) -> None:
        self.tries = tries
        self.window = window
        self.clock = clock
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        cut = self.clock() - self.window
        while q and q[0] <= cut:
            q.popleft()
        return q

    def wait(self, *keys: str) -> float:
        """Seconds until another try is allowed (0: now)."""
        with self._lock:
            worst = 0.0
            for k in keys:
                q = self._recent(k)
                if len(q) >= self.tries:
                    worst = max(worst, q[0] + self.window - self.clock())
            return worst

    def failed(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._recent(k).append(self.clock())
