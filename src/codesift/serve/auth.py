"""Access control for the HTTP server: API tokens (created, listed, revoked; only a hash is
stored) scoped to repositories, databases and actions, a per-token rate limiter, and the
audit log.
"""

# Why SHA-256 and not bcrypt/argon2: a token is 32 random bytes (256 bits), so no guessing
# or dictionary attack can find one from its hash; slow password hashes exist to protect
# low-entropy secrets and would only add ~100 ms of CPU to every request (a denial-of-service
# lever). The hash is also the lookup key, so comparing never leaks anything through timing
# that would help an attacker. The plain token is shown once, when it is created.

from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..errors import UsageError
from .home import HomeDB
from .http_errors import NotFound

# Each action includes the ones before it: "index" may also read, "admin" may do anything.
ACTIONS = ("read", "index", "admin")
# On databases (`codesift sql` served): "sql:read" sees schemas and contexts, "sql:query" also
# has SQL written and run. A token's "admin" includes both, on the databases it is granted.
SQL_ACTIONS = ("sql:read", "sql:query")
ANY_REPO = "*"  # also "every database", in Scope.databases
TOKEN_PREFIX = "cs_"
MAX_AUDIT_PATHS = 1000


@dataclass(frozen=True, slots=True)
class Scope:
    """What a token may do: actions on repositories and on databases ("*" = every one, now
    and later). A token made before databases were served has none."""

    repos: tuple[str, ...]
    actions: tuple[str, ...]
    databases: tuple[str, ...] = ()

    def allows(self, action: str, repo: str | None = None) -> bool:
        """`repo` None asks for the whole server (token administration)."""
        if action in SQL_ACTIONS:
            return self.allows_sql(action, repo)
        granted = max((ACTIONS.index(a) for a in self.actions if a in ACTIONS), default=-1)
        if ACTIONS.index(action) > granted:
            return False
        return ANY_REPO in self.repos or (repo is not None and repo in self.repos)

    def sees(self, repo: str) -> bool:
        return ANY_REPO in self.repos or repo in self.repos

    def allows_sql(self, action: str, database: str | None) -> bool:
        """`database` None asks whether any database is open to `action` (a question asked
        without naming one is answered from those the token sees)."""
        if "admin" not in self.actions:
            granted = max((SQL_ACTIONS.index(a) for a in self.actions if a in SQL_ACTIONS),
                          default=-1)
            if SQL_ACTIONS.index(action) > granted:
                return False
        return bool(self.databases) if database is None else self.sees_database(database)

    def sees_database(self, name: str) -> bool:
        return ANY_REPO in self.databases or name in self.databases

    def visible_databases(self) -> tuple[str, ...] | None:
        """The databases granted by name; None when every one is ("*")."""
        return None if ANY_REPO in self.databases else self.databases


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a token's id (or "anonymous" when the server runs with --no-auth)."""

    token_id: str
    scope: Scope


ANONYMOUS = Principal("anonymous", Scope((ANY_REPO,), ("admin",), (ANY_REPO,)))


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    scope: Scope
    created_at: float
    revoked_at: float | None = None
    last_used_at: float | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "repos": list(self.scope.repos),
                "databases": list(self.scope.databases),
                "actions": list(self.scope.actions), "created_at": self.created_at,
                "revoked_at": self.revoked_at, "last_used_at": self.last_used_at}


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def make_scope(repos: Sequence[str], actions: Sequence[str],
               databases: Sequence[str] = ()) -> Scope:
    """No `actions`: "read" on the repositories and "sql:read" on the databases."""
    from .registry import check_repo_name
    if not repos and not databases:
        raise UsageError("a token needs at least one repository or database",
                         hint="pass --repo NAME or --db NAME (repeatable; '*' for every one)")
    for repo in repos:
        if repo != ANY_REPO:
            check_repo_name(repo)
    for database in databases:
        if database != ANY_REPO:
            try:
                check_repo_name(database)  # database names follow repository names
            except UsageError as exc:
                raise UsageError(f"bad database name {database!r}", hint=exc.hint) from None
    if not actions:
        actions = ("read",) * bool(repos) + ("sql:read",) * bool(databases)
    actions = tuple(dict.fromkeys(actions))
    _check_actions(actions, bool(repos), bool(databases))
    return Scope(tuple(dict.fromkeys(repos)), actions, tuple(dict.fromkeys(databases)))


def _check_actions(actions: tuple[str, ...], repos: bool, databases: bool) -> None:
    """Each action must have something to act on: a grant that could never be used is a
    mistake in the command line, said at once rather than found out at the first 403."""
    unknown = [a for a in actions if a not in ACTIONS + SQL_ACTIONS]
    if unknown:
        raise UsageError(f"unknown action(s): {', '.join(unknown)}",
                         hint=f"actions are {', '.join(ACTIONS)} on repositories and "
                              f"{', '.join(SQL_ACTIONS)} on databases (each includes the ones "
                              "before)")
    repo_actions = [a for a in actions if a in ("read", "index")]
    if repo_actions and not repos:
        raise UsageError(f"{repo_actions[0]!r} acts on repositories, and the token has none",
                         hint="add --repo NAME, or use sql:read / sql:query for databases")
    sql = [a for a in actions if a in SQL_ACTIONS]
    if sql and not databases:
        raise UsageError(f"{sql[0]!r} acts on databases, and the token has none",
                         hint="add --db NAME (repeatable), or --db '*' for every one")
    if databases and not sql and "admin" not in actions:
        raise UsageError("the token is granted databases but no action on them",
                         hint="add --action sql:read (schemas, contexts) or --action sql:query "
                              "(+ SQL written and run)")


class TokenStore:
    """Tokens in the server home. Every check reads the database: a revoke made with the
    CLI while the server runs takes effect on the next request."""

    def __init__(self, db: HomeDB, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def create(self, name: str, repos: Sequence[str], actions: Sequence[str],
               databases: Sequence[str] = ()) -> tuple[TokenInfo, str]:
        """A new token and its secret (shown once; only its hash is stored)."""
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise UsageError("a token needs a name of 1-100 characters",
                             hint="name it after its user: codesift token create ci-bot ...")
        scope = make_scope(repos, actions, databases)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(f"tok_{secrets.token_hex(6)}", name, scope, self.clock())
        self.db.write("INSERT INTO tokens (id, name, hash, repos, actions, databases, "
                      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (info.id, name, hash_token(secret), json.dumps(scope.repos),
                       json.dumps(scope.actions), json.dumps(scope.databases),
                       info.created_at))
        return info, secret

    def revoke(self, token_id: str) -> TokenInfo:
        changed = self.db.write("UPDATE tokens SET revoked_at = ? "
                                "WHERE id = ? AND revoked_at IS NULL", (self.clock(), token_id))
        info = self.get(token_id)
        if info is None:
            raise NotFound(f"no token {token_id!r}", hint="list them: codesift token list")
        if not changed:
            raise UsageError(f"token {token_id} was already revoked")
        return info

    def get(self, token_id: str) -> TokenInfo | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM tokens WHERE id = ?", (token_id,))
        return _info(row) if row else None

    def list(self, include_revoked: bool = False) -> list[TokenInfo]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        return [_info(r) for r in self.db.rows(f"SELECT {_COLUMNS} FROM tokens{where} "
                                                  "ORDER BY created_at")]

    def authenticate(self, secret: str) -> Principal | None:
        """The principal of a live token, or None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        row = self.db.one(f"SELECT {_COLUMNS} FROM tokens WHERE hash = ? AND revoked_at IS NULL",
                          (hash_token(secret),))
        if row is None:
            return None
        info = _info(row)
        now = self.clock()
        if info.last_used_at is None or now - info.last_used_at > 60:  # not a write per request
            self.db.write("UPDATE tokens SET last_used_at = ? WHERE id = ?", (now, info.id))
        return Principal(info.id, info.scope)


_COLUMNS = "id, name, repos, actions, databases, created_at, revoked_at, last_used_at"


def _info(row: tuple) -> TokenInfo:
    tid, name, repos, actions, databases, created, revoked, used = row
    scope = Scope(tuple(json.loads(repos)), tuple(json.loads(actions)),
                  tuple(json.loads(databases)))
    return TokenInfo(tid, name, scope, created, revoked, used)


class RateLimiter:
    """A token bucket per key (token id, or client address without auth): `burst` requests
    at once, refilled at `rate` per second. rate <= 0 switches limiting off."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """0 when the request may go ahead, else the whole seconds to wait (Retry-After)."""
        if self.rate <= 0:
            return 0
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    token_id: str | None
    client: str | None
    method: str
    endpoint: str
    repo: str | None
    status: int
    paths: tuple[str, ...]
    database: str | None = None
    # For SQL calls: the question, the SQL, whether it ran, rows, outcome (never a URL).
    detail: dict | None = None

    def to_dict(self) -> dict:
        return {"at": self.at, "token_id": self.token_id, "client": self.client,
                "method": self.method, "endpoint": self.endpoint, "repo": self.repo,
                "status": self.status, "paths": list(self.paths), "database": self.database,
                "detail": self.detail}


class AuditLog:
    """Who retrieved which paths or asked which database what, and every refused request,
    in the server home."""

    def __init__(self, db: HomeDB, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def record(self, *, token_id: str | None, client: str | None, method: str, endpoint: str,
               repo: str | None, status: int, paths: Iterable[str] = (),
               database: str | None = None, detail: dict | None = None) -> None:
        shown = list(dict.fromkeys(paths))[:MAX_AUDIT_PATHS]
        self.db.write("INSERT INTO audit (at, token_id, client, method, endpoint, repo, status, "
                      "paths, database, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (self.clock(), token_id, client, method, endpoint, repo, status,
                       json.dumps(shown), database,
                       None if detail is None else json.dumps(detail, ensure_ascii=False)))

    def entries(self, *, token_id: str | None = None, repo: str | None = None,
                database: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The latest entries first."""
        where, args = [], []
        for column, value in (("token_id", token_id), ("repo", repo), ("database", database)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        sql = ("SELECT at, token_id, client, method, endpoint, repo, status, paths, database, "
               "detail FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY id DESC LIMIT ?")
        return [AuditEntry(*r[:7], tuple(json.loads(r[7])), r[8],
                           None if r[9] is None else json.loads(r[9]))
                for r in self.db.rows(sql, [*args, max(1, limit)])]
