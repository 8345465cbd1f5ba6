"""`codesift serve` (the HTTP API), and the server home's administration: `codesift token`
(create, list, revoke), `codesift repo` (add, list, remove) and `codesift audit`.
"""

from __future__ import annotations

import ipaddress
import socket
from datetime import datetime, timezone
from pathlib import Path

import click

from ..retrieve.federate import DEFAULT_DEADLINE_S
from .common import emit_json, friendly_errors
from ..errors import UsageError

home_option = click.option(
    "--home", type=click.Path(file_okay=False), default=None,
    help="The server's home: registered repositories, tokens, jobs, audit log "
         "(default: $CODESIFT_HOME or ~/.codesift-server).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _home_db(home):
    from ..serve.home import HomeDB, default_home
    return HomeDB(home or default_home())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- serve ------------------------------------------------------------------------------------

@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback requires tokens.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port (0 picks a free one, printed at start).")
@home_option
@click.option("--no-auth", is_flag=True,
              help="Serve without tokens (loopback only; Host headers must name loopback).")
@click.option("--allow-path", "allow_paths", multiple=True, type=click.Path(file_okay=False),
              help="A folder under which POST /repos may register repositories (repeatable; "
                   "default: none, register with `codesift repo add`).")
@click.option("--rate-limit", type=float, default=20.0, show_default=True,
              help="Requests per second per token (0 = unlimited).")
@click.option("--burst", type=click.IntRange(1), default=60, show_default=True,
              help="Requests a token may make at once before the rate applies.")
@click.option("--max-body", type=click.IntRange(1024), default=256 * 1024, show_default=True,
              help="Largest request body accepted, in bytes (larger: 413).")
@click.option("--watch", is_flag=True,
              help="Re-index each registered repository's files as they change (one "
                   "watcher per indexed repository; new ones are picked up as they appear).")
@click.option("--search-deadline", type=click.FloatRange(min=0.1), default=DEFAULT_DEADLINE_S,
              show_default=True, help="POST /search and /mcp: seconds to wait for each "
                                      "repository before answering without it (partial).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True, help="Server log level (logs go to stderr).")
@friendly_errors
def serve_command(host, port, home, no_auth, allow_paths, rate_limit, burst, max_body,
                  watch, search_deadline, log_level):
    """Serve the HTTP API (search, graph, map, files, index jobs) for the repositories
    registered in the server home; OpenAPI at /docs and /openapi.json, Prometheus
    metrics at /metrics."""
    import uvicorn

    from ..serve.deps import ServerConfig
    from ..serve.http import create_app

    if no_auth and not is_loopback(host):
        raise UsageError(f"--no-auth is refused on {host}: beyond loopback every request "
                         "must carry a token", hint="create one: codesift token create NAME "
                                                    "--repo '*' --action read")
    config = ServerConfig(auth=not no_auth, host=host, rate=rate_limit, burst=burst,
                          max_body_bytes=max_body, watch=watch, search_deadline_s=search_deadline,
                          allowed_roots=tuple(Path(p).expanduser().resolve() for p in allow_paths))
    app = create_app(home, config)
    state = app.state.codesift
    state.db.lock_server()  # fail here, with one line, if another server holds the home
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    repos, tokens = len(state.registry.list()), len(state.tokens.list())
    click.echo(f"codesift serve: http://{_url_host(host)}:{bound} (home {state.db.home}, "
               f"{repos} repositories, {'no auth' if no_auth else f'{tokens} tokens'}"
               f"{', watching' if watch else ''})", err=True)
    if not no_auth and tokens == 0:
        click.echo("hint: no tokens yet, so every request will be refused: "
                   "codesift token create NAME --repo '*' --action admin", err=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False,
                                           timeout_graceful_shutdown=30))
    server.run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose
    # proto says TCP, and without it every request after a keep-alive connection's first
    # waited ~40 ms for a delayed ACK (Nagle held the response's second write).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}",
                         hint="pick another --port (0 = any free one)") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


# -- tokens -----------------------------------------------------------------------------------

@click.group("token")
def token_group() -> None:
    """API tokens for `codesift serve`: create, list, revoke (only hashes are stored)."""


@token_group.command("create")
@click.argument("name")
@click.option("--repo", "repos", multiple=True,
              help="A repository the token may use (repeatable); '*' = every one.")
@click.option("--db", "databases", multiple=True,
              help="A database of the server's SQL catalog the token may use (repeatable); "
                   "'*' = every one. Tokens have none unless given.")
@click.option("--action", "actions", multiple=True,
              type=click.Choice(["read", "index", "admin", "sql:read", "sql:query"]),
              help="On repositories: read (search, graph, files, status), index (+ jobs), "
                   "admin (+ repositories and tokens). On databases: sql:read (schemas, "
                   "contexts), sql:query (+ SQL written and run). Repeatable; default read "
                   "and/or sql:read.")
@home_option
@json_option
@friendly_errors
def token_create(name, repos, databases, actions, home, as_json):
    """Create a token NAME for repositories (--repo), databases (--db) or both; its secret
    is printed once and never stored."""
    from ..serve.auth import TokenStore
    info, secret = TokenStore(_home_db(home)).create(name, repos, actions, databases)
    if as_json:
        return emit_json({**info.to_dict(), "token": secret})
    click.echo(secret)
    on = [*info.scope.repos, *(f"db:{d}" for d in info.scope.databases)]
    click.echo(f"created {info.id} ({name}): {', '.join(info.scope.actions)} on "
               f"{', '.join(on)}; the secret above is shown only now", err=True)


@token_group.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@home_option
@json_option
@friendly_errors
def token_list(include_revoked, home, as_json):
    """The tokens (never their secrets)."""
    from ..serve.auth import TokenStore
    tokens = TokenStore(_home_db(home)).list(include_revoked)
    if as_json:
        return emit_json([t.to_dict() for t in tokens])
    for t in tokens:
        state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else \
            f"last used {_when(t.last_used_at)}" if t.last_used_at else "never used"
        on = [*t.scope.repos, *(f"db:{d}" for d in t.scope.databases)]
        click.echo(f"{t.id}  {t.name:<20} {','.join(t.scope.actions):<16} "
                   f"{','.join(on):<24} {state}")
    if not tokens:
        click.echo("no tokens; create one: codesift token create NAME --repo '*'", err=True)


@token_group.command("revoke")
@click.argument("token_id")
@home_option
@friendly_errors
def token_revoke(token_id, home):
    """Revoke the token TOKEN_ID: a running server refuses it from the next request."""
    from ..serve.auth import TokenStore
    info = TokenStore(_home_db(home)).revoke(token_id)
    click.echo(f"revoked {info.id} ({info.name})", err=True)


# -- repositories -----------------------------------------------------------------------------

@click.group("repo")
def repo_group() -> None:
    """Repositories served by `codesift serve`: add, list, remove."""


@repo_group.command("add")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--no-dense", is_flag=True, help="Index without embeddings (lexical + symbols).")
@click.option("--no-index", is_flag=True, help="Do not queue a first index job.")
@home_option
@json_option
@friendly_errors
def repo_add(name, path, no_dense, no_index, home, as_json):
    """Register the repository at PATH as NAME, and queue its first index job (a running
    server picks it up within a second; otherwise the next one started)."""
    from ..serve.jobs import JobStore
    from ..serve.registry import Registry
    db = _home_db(home)
    repo = Registry(db).add(name, str(Path(path).expanduser().resolve()), dense=not no_dense)
    job = None if no_index else JobStore(db).submit(repo.name)
    if as_json:
        return emit_json({**repo.to_dict(), "job": job.to_dict() if job else None})
    click.echo(f"registered {repo.name}: {repo.path}" +
               (f" (index job {job.id} queued)" if job else ""), err=True)


@repo_group.command("list")
@home_option
@json_option
@friendly_errors
def repo_list(home, as_json):
    """The registered repositories."""
    from ..serve.registry import Registry
    repos = Registry(_home_db(home)).list()
    if as_json:
        return emit_json([r.to_dict() for r in repos])
    for r in repos:
        click.echo(f"{r.name:<24} {r.path}{'' if r.dense else '  (no dense)'}")


@repo_group.command("remove")
@click.argument("name")
@home_option
@friendly_errors
def repo_remove(name, home):
    """Unregister NAME (its index is left in the repository's folder)."""
    from ..serve.registry import Registry
    repo = Registry(_home_db(home)).remove(name)
    click.echo(f"removed {repo.name} ({repo.path})", err=True)


# -- audit ------------------------------------------------------------------------------------

@click.command("audit")
@click.option("--token", "token_id", default=None, help="Only this token's requests.")
@click.option("--repo", "repo", default=None, help="Only requests to this repository.")
@click.option("--db", "database", default=None,
              help="Only SQL requests to this database (with their question and SQL).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True,
              help="How many entries, newest first.")
@home_option
@json_option
@friendly_errors
def audit_command(token_id, repo, database, limit, home, as_json):
    """Who retrieved which paths from `codesift serve` or asked which database what (and
    the SQL), and every refused request."""
    from ..serve.auth import AuditLog
    entries = AuditLog(_home_db(home)).entries(token_id=token_id, repo=repo, database=database,
                                               limit=limit)
    if as_json:
        return emit_json([e.to_dict() for e in entries])
    for e in entries:
        click.echo(f"{_when(e.at)}  {e.status}  {e.token_id or '-':<16} {e.method} "
                   f"{e.endpoint}  {_audit_what(e)}")


def _audit_what(e) -> str:
    if e.database or e.detail:
        d = e.detail or {}
        what = f"db:{e.database or '-'}"
        if d.get("question"):
            what += f" {d['question'][:60]!r}"
        if d.get("outcome"):
            what += f" -> {d['outcome']}" + (f" ({d['rows']} rows)" if d.get("rows") is not None
                                            else "")
        if d.get("sql"):
            what += f": {' '.join(d['sql'].split())[:120]}"
        return what
    return ", ".join(e.paths[:5]) + (f" (+{len(e.paths) - 5})" if len(e.paths) > 5 else "")


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
