"""What the HTTP API's tests share: a server home with a token and an indexed repository,
and a real `codesift serve` subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

import codesift
from codesift.serve.auth import TokenStore
from codesift.serve.deps import ServerConfig
from codesift.serve.home import HomeDB
from codesift.serve.http import create_app
from codesift.serve.registry import Registry


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, step: float = 0.05):
    """Poll until `predicate()` is truthy (a liveness deadline, not a speed claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def make_home(home: Path, repos: dict[str, Path], *, index: bool = True,
              dense: bool = False) -> str:
    """A server home with `repos` registered (and indexed, without the job machinery) and
    an admin token on every repository; returns the token's secret."""
    db = HomeDB(home)
    try:
        _, secret = TokenStore(db).create("admin", ["*"], ["admin"])
        registry = Registry(db)
        for name, path in repos.items():
            registry.add(name, str(path), dense=dense)
            if index:
                with codesift.open_index(path, dense=dense) as idx:
                    idx.update()
    finally:
        db.close()
    return secret


def token(home: Path, name: str, repos: list[str], actions: list[str]) -> str:
    db = HomeDB(home)
    try:
        return TokenStore(db).create(name, repos, actions)[1]
    finally:
        db.close()


def app_for(home: Path, **config) -> object:
    config.setdefault("job_poll_seconds", 0.05)
    config.setdefault("stream_poll_seconds", 0.05)
    return create_app(home, ServerConfig(**config))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    """A `codesift serve` subprocess."""

    process: subprocess.Popen
    url: str
    log: Path

    def client(self, secret: str | None = None, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=bearer(secret) if secret else {},
                            timeout=timeout)

    def kill(self, sig: int = signal.SIGKILL) -> int:
        os.kill(self.process.pid, sig)
        return self.process.wait(60)


def serve(home: Path, log: Path, *, prelude: str = "", args: tuple[str, ...] = (),
          env: dict[str, str] | None = None) -> Served:
    """Start `codesift serve` (the real command, in its own process) and wait until it is
    ready. `prelude` is Python run first in that process (to slow the indexer down)."""
    port = free_port()
    code = (f"{prelude}\nimport sys\nfrom codesift.cli import main\n"
            f"sys.exit(main(['serve', '--home', {str(home)!r}, '--port', '{port}', "
            f"'--log-level', 'warning', *{list(args)!r}]))")
    out = open(log, "ab")
    env = {**os.environ, **(env or {}), "CODESIFT_HOME": str(home)}
    process = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=out, env=env)
    url = f"http://127.0.0.1:{port}"

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"codesift serve exited: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, timeout=60, step=0.1)
    return Served(process, url, log)


def settle(process: subprocess.Popen) -> None:
    """Stop a server a test left running."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(30)


@contextmanager
def uvicorn_thread(app, path: str = "") -> Iterator[str]:
    """`app` served by uvicorn on a free 127.0.0.1 port in a thread; yields its base URL
    (+ `path`) once it listens, and stops it after."""
    import uvicorn
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(30)
