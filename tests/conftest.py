"""Shared fixtures: small real repositories on disk and the CPython standard library."""

from __future__ import annotations

import os
import sysconfig
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


SMALL_REPO = {
    "pkg/__init__.py": '''
        """A tiny HTTP toolkit used by the tests."""
        from .client import HttpClient
    ''',
    "pkg/client.py": '''
        """HTTP client with retries."""
        import time

        DEFAULT_RETRIES = 3


        class HttpClient:
            """Sends requests and retries failed uploads."""

            def __init__(self, base_url, retries=DEFAULT_RETRIES):
                self.base_url = base_url
                self.retries = retries

            def send(self, request):
                """Send one request, retrying with exponential backoff."""
                for attempt in range(self.retries):
                    try:
                        return self._transport(request)
                    except ConnectionError:
                        time.sleep(2 ** attempt)
                raise ConnectionError("gave up")

            def _transport(self, request):
                raise ConnectionError("no network in tests")


        def parse_header(line):
            """Split an HTTP header line into name and value."""
            name, _, value = line.partition(":")
            return name.strip().lower(), value.strip()
    ''',
    "pkg/session.py": '''
        from .client import HttpClient


        def save_session(store, session):
            """Persist a session's cookies to the store."""
            store.write(session.id, session.cookies)


        def load_session(store, session_id):
            return store.read(session_id)
    ''',
    "tests/test_client.py": '''
        from pkg.client import parse_header


        def test_parse_header():
            assert parse_header("Content-Type: text/html") == ("content-type", "text/html")
    ''',
    "web/server.go": '''
        package web

        // Server answers HTTP requests.
        type Server struct {
            Addr string
        }

        // Handle routes one request to its handler.
        func (s *Server) Handle(path string) string {
            return "ok:" + path
        }
    ''',
    "docs/guide.md": '''
        # Guide

        ## Retries

        Uploads are retried three times with exponential backoff.
    ''',
    ".gitignore": "build/\n",
    "build/generated.py": "def should_not_be_indexed(): pass\n",
}


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", SMALL_REPO)


def long_issue(chars: int = 100_000) -> str:
    """A bug report against SMALL_REPO as people paste them: a title, a sentence, then a
    CI log of `chars` characters (repeated lines, timestamps, progress) with the traceback
    and the error at its end."""
    opening = ("save_session loses cookies when the store times out\n\n"
               "Saving a session to a slow store drops its cookies without an error.\n\n```\n")
    ending = ('Traceback (most recent call last):\n'
              '  File "/srv/app/jobs.py", line 88, in nightly\n'
              '    save_session(store, session)\n'
              '  File "/srv/app/.venv/lib/python3.12/site-packages/pkg/session.py", line 5, '
              'in save_session\n'
              '    store.write(session.id, session.cookies)\n'
              'TimeoutError: store did not answer within 30 seconds\n```\n')
    log, n = [], 0
    room = chars - len(opening) - len(ending)
    while True:
        n += 1
        line = (f"2024-05-01 12:{n // 60 % 60:02d}:{n % 60:02d},{n % 1000:03d} INFO "
                f"worker-{n % 4} flushed batch {n} in {n * 7 % 900} ms\n" if n % 5 else
                f"Uploading artifacts {n % 100}% [{'#' * (n % 30):<30}]\n")
        if len(line) > room:
            break
        log.append(line)
        room -= len(line)
    return opening + "".join(log) + "\n" * room + ending


# -- a real PostgreSQL (pgserver), one per test session ------------------------------------

@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """pgserver's PostgreSQL, started once; each module takes its own database in it
    (pg_database). Skipped with the reason when it cannot start here."""
    import time

    pgserver = pytest.importorskip("pgserver", reason="pgserver is not installed")
    pgdata = tmp_path_factory.mktemp("pg")
    error: Exception | None = None
    # pgserver gives pg_ctl 10 s to start the server, which a busy machine can overrun while
    # the server goes on starting; asking again for the same data folder picks it up.
    for _ in range(6):
        try:
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
            break
        except Exception as exc:  # noqa: BLE001 - whatever stops it, there is no server yet
            error = exc
            time.sleep(2)
    else:
        pytest.skip(f"pgserver could not start a PostgreSQL server: {error!r}")
    yield server
    server.cleanup()


def pg_database(server, name: str, ddl: str = "") -> str:
    """A new database `name` in the shared server (dropped first if a run left it), with
    `ddl` run in it; its URL."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.get_uri(name)
    if ddl:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(ddl)
    return url
