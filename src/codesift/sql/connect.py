"""Database URLs for `codesift sql`: normalised when a database is added, `${VAR}` expanded
when it is opened, redacted for display, and opened read-only with one-line errors."""

# The catalog keeps URLs as the user wrote them, placeholders included, so a password can
# live in the environment and never on disk. Every message about a connection names the
# redacted URL: a driver's own text may echo what it was given, so it is scrubbed too.

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote

import sqlalchemy
from sqlalchemy import exc as sa_exc

from ..errors import DatabaseError, UsageError

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd)=)([^&]*)", re.IGNORECASE)
CONNECT_TIMEOUT_S = 10

# SQLAlchemy backend name -> sqlglot dialect name, where they differ.
DIALECTS = {"postgresql": "postgres", "postgres": "postgres", "mssql": "tsql",
            "mariadb": "mysql", "awsathena": "athena"}


# -- URLs as written and as opened -------------------------------------------------------

def normalise_url(url: str, cwd: str | os.PathLike | None = None) -> str:
    """The form `add` stores: a file path or relative SQLite URL made absolute against `cwd`
    (the folder `add` ran in, not wherever `learn` runs later); `${VAR}` kept as written."""
    url = url.strip()
    if not url:
        raise UsageError("the database URL is empty",
                         hint="give a SQLAlchemy URL (postgresql://user@host/db) or a SQLite file")
    if PLACEHOLDER.fullmatch(url):
        return url  # the whole URL lives in the environment: nothing to normalise yet
    base = Path(cwd if cwd is not None else os.getcwd())
    if "://" not in url:
        return "sqlite:///" + _absolute(url, base)
    if _backend(url) == "sqlite":
        return _sqlite_url(url, base)
    return url


def expand_url(url: str, env: Mapping[str, str] | None = None) -> str:
    """The URL SQLAlchemy opens: placeholders replaced from `env` (os.environ by default;
    a value in the password position is percent-encoded, so export the raw password), a file
    path as an absolute SQLite URL, `postgres[ql]://` with the psycopg driver."""
    env = os.environ if env is None else env
    url = _substitute(url.strip(), env)
    url = normalise_url(url)
    scheme = SCHEME.match(url)
    if scheme and scheme.group(1).lower() in ("postgres", "postgresql"):
        url = "postgresql+psycopg://" + url[scheme.end():]
    return url


def redact(url: str) -> str:
    """`url` for display: a literal password becomes `***`; a `${VAR}` placeholder is not a
    secret and shows as written."""
    start, end = _password_span(url)
    if start < end and not _is_placeholder(url[start:end]):
        url = url[:start] + "***" + url[end:]
    return QUERY_PASSWORD.sub(
        lambda m: m.group(1) + (m.group(2) if _is_placeholder(m.group(2)) else "***"), url)


def dialect_of(url: str) -> str:
    """sqlglot's dialect name for the backend the URL names ("" while the scheme itself is
    still a placeholder, as in `${DATABASE_URL}`)."""
    url = url.strip()
    if "://" not in url:
        return "" if url.startswith("${") and "/" not in url else "sqlite"
    backend = _backend(url)
    if backend is None:
        return ""
    name = DIALECTS.get(backend, backend)
    if name not in _sqlglot_dialects():
        raise UsageError(f"codesift sql does not know the SQL dialect of {backend!r} URLs",
                         hint="use a database sqlglot supports: postgresql, sqlite, mysql, "
                              "mssql, duckdb, snowflake, bigquery, ...")
    return name


def _sqlglot_dialects() -> set[str]:
    from sqlglot.dialects.dialect import Dialects
    return {d.value for d in Dialects if d.value}


def _backend(url: str) -> str | None:
    scheme = SCHEME.match(url)
    if not scheme:
        return None
    return scheme.group(1).split("+", 1)[0].lower()


def _substitute(url: str, env: Mapping[str, str]) -> str:
    # A value that lands in the password is percent-encoded: passwords hold '@', '/', ':'
    # and the environment holds them raw.
    start, end = _password_span(url)

    def value(m: re.Match) -> str:
        name = m.group(1)
        if name not in env:
            raise UsageError(f"the database URL needs ${{{name}}}, which is not set",
                             hint=f"export {name}=... before running codesift sql")
        return quote(env[name], safe="") if start <= m.start() < end else env[name]

    return PLACEHOLDER.sub(value, url)


def _password_span(url: str) -> tuple[int, int]:
    """Where the password sits in `scheme://user:password@host`, (0, 0) when there is none.
    The last '@' ends it, so a raw '@' in a password is still hidden (at worst, more)."""
    scheme = SCHEME.match(url)
    if not scheme:
        return 0, 0
    at = url.rfind("@", scheme.end())
    colon = url.find(":", scheme.end(), at)
    if at < 0 or colon < 0:
        return 0, 0
    return colon + 1, at


def _is_placeholder(text: str) -> bool:
    return bool(text) and PLACEHOLDER.sub("", text) == ""


def _absolute(path: str, base: Path) -> str:
    if path.startswith("${"):
        return path  # its folder is only known once the variable is
    if path in (":memory:", ""):
        raise UsageError("an in-memory SQLite database has nothing to learn",
                         hint="give the path of a SQLite file")
    return str((base / Path(path).expanduser()).resolve())


def _sqlite_url(url: str, base: Path) -> str:
    scheme = SCHEME.match(url)
    rest = url[scheme.end():]
    if not rest.startswith("/") or rest in ("/", ""):
        raise UsageError("an in-memory SQLite database has nothing to learn",
                         hint="give a SQLite file: sqlite:///path/to/file.db or just the path")
    path, sep, query = rest[1:].partition("?")
    return url[:scheme.end()] + "/" + _absolute(path, base) + sep + query


# -- opening ----------------------------------------------------------------------------

def open_engine(url_expanded: str) -> sqlalchemy.Engine:
    """An engine for the URL `expand_url` gave; SQLite files are opened read-only and never
    created. Nothing connects until the engine is used: see `check_reachable`."""
    shown = redact(url_expanded)
    try:
        url = sqlalchemy.make_url(url_expanded)
    except sa_exc.ArgumentError as exc:
        raise UsageError(f"not a database URL: {shown}",
                         hint="write it as dialect://user@host/database, or give a SQLite file"
                         ) from exc
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return sqlalchemy.create_engine(url, **_engine_options(url))
    except (sa_exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise DatabaseError(f"no database driver installed for {shown}",
                            hint=f"install the SQLAlchemy driver for {url.drivername}") from exc


def _sqlite_engine(url: sqlalchemy.URL) -> sqlalchemy.Engine:
    path = url.database or ""
    if not path or path == ":memory:":
        raise UsageError("an in-memory SQLite database has nothing to learn",
                         hint="give the path of a SQLite file")
    if not Path(path).is_file():
        raise DatabaseError(f"no SQLite database at {path}",
                            hint="check the path given to `codesift sql add` (it is never created)")
    # mode=ro: a typo'd path must not leave an empty database behind, and nothing
    # codesift runs can write to the user's data.
    uri = "file:" + quote(str(Path(path).resolve())) + "?mode=ro"
    return sqlalchemy.create_engine(
        url.set(query={}), creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))


def _engine_options(url: sqlalchemy.URL) -> dict:
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("psycopg",
                                                                            "psycopg2"):
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S,
                                 "application_name": "codesift"}}
    return {}


def check_reachable(engine: sqlalchemy.Engine) -> None:
    """Connect once and read the catalog, so an unreachable server, a refused login or a
    file that is not a database fails here, in one line, rather than mid-introspection."""
    probe = ("SELECT count(*) FROM sqlite_master" if engine.dialect.name == "sqlite"
             else "SELECT 1")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(probe).fetchall()
    except sa_exc.DBAPIError as exc:
        raise connection_error(engine, exc) from exc


def connection_error(engine: sqlalchemy.Engine, exc: BaseException) -> DatabaseError:
    """A driver's failure to connect as one line without the password, with a hint."""
    url = engine.url
    # Unquoted for reading (?host=/run/postgresql); the password is already '***'.
    shown = redact(unquote(url.render_as_string(hide_password=True)))
    detail = _driver_text(exc, url.password)
    low = detail.lower()
    host = url.host or url.query.get("host") or "localhost"  # PostgreSQL: ?host=/socket/dir
    where = f"{host}:{url.port}" if url.port else host
    if engine.dialect.name == "sqlite":
        if "not a database" in low or "malformed" in low or "encrypted" in low:
            return DatabaseError(f"{url.database} is not a SQLite database ({detail})",
                                 hint="point codesift sql at a SQLite file")
        return DatabaseError(f"cannot open {url.database}: {detail}",
                             hint="check the file's path and permissions")
    for needles, message, hint in _CAUSES:
        if any(n in low for n in needles):
            return DatabaseError(
                f"cannot connect to {shown}: "
                f"{message.format(where=where, host=host, detail=detail)}",
                hint=hint)
    return DatabaseError(f"cannot connect to {shown}: {detail}",
                         hint="check the URL, the server and your credentials")


_CAUSES = (
    (("password authentication failed", "authentication failed", "access denied",
      "login failed", "no password supplied", "password is required"),
     "the login was refused", "check the user name and password (export the variable the URL "
                              "names, if it has a ${VAR} placeholder)"),
    (("does not exist", "unknown database"), "{detail}",
     "check the user and database names in the URL"),
    (("could not translate host name", "name or service not known", "nodename nor servname",
      "unknown host", "name resolution"),
     "cannot resolve the host name {host}", "check the host name in the URL"),
    (("connection refused", "could not connect", "timeout expired", "timed out",
      "no route to host",
      "network is unreachable", "can't connect", "is the server running"),
     "nothing answers at {where}", "check the host and port, and that the server is running"),
)


def _driver_text(exc: BaseException, password: str | None) -> str:
    """The driver's first meaningful line, without SQLAlchemy's wrapper or the password."""
    inner = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(inner).splitlines() if ln.strip()]
    # libpq: 'connection to server at "h" (1.2.3.4), port 5432 failed: <the reason>'
    text = next((ln for ln in lines if "failed:" in ln), lines[0] if lines else "")
    text = text.rsplit("failed: ", 1)[-1] if "failed: " in text else text
    text = re.sub(r"^(?:FATAL|ERROR):\s+", "", text) or type(inner).__name__
    if password:
        text = text.replace(password, "***").replace(quote(password, safe=""), "***")
    return text
