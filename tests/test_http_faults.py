"""Faults of a real `codesift serve` process: killed with kill -9 in the middle of an index
job, it resumes the job at the next start and finishes with an intact index; a client that
vanishes in the middle of an event stream leaves nothing open; a graceful stop queues the
running job again; a second server on the same home is refused."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import codesift
from codesift.indexer import file_sha
from codesift.serve.home import HomeDB
from codesift.serve.jobs import JobStore

from conftest import STDLIB
from http_support import make_home, serve, settle, wait_for
from llm_server import Hang, LLMServer

# Run in the server process before `codesift serve`: after its first 100 files the indexer
# takes 50 ms a file, which leaves seconds to act in the middle of the job.
SLOW_INDEXER = """
import time
import codesift.indexer as ix
original, seen = ix.prepare_file, [0]
def slow(source):
    seen[0] += 1
    if seen[0] > 100:
        time.sleep(0.05)
    return original(source)
ix.prepare_file = slow
"""


@pytest.fixture
def home_with_repo(tmp_path: Path):
    """400 stdlib modules registered as "stdlib", indexed, then every one of them edited:
    the next index job has all of them to redo."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for f in sorted(STDLIB.glob("*.py"))[:400]:
        shutil.copy(f, repo / f.name)
    home = tmp_path / "home"
    secret = make_home(home, {"stdlib": repo}, index=True)
    for f in repo.glob("*.py"):
        f.write_text(f.read_text() + "\n\ndef added_by_the_test():\n    return 1\n")
    processes: list[subprocess.Popen] = []
    yield home, repo, secret, processes
    for process in processes:
        settle(process)


def _start_job(client: httpx.Client) -> str:
    job = client.post("/repos/stdlib/index").json()
    assert job["state"] == "queued"
    return job["id"]


def _midway(client: httpx.Client, job_id: str) -> dict:
    """Wait until the job has committed its first batches and is still parsing."""
    def midway():
        job = client.get(f"/jobs/{job_id}").json()
        assert job["state"] in ("queued", "running"), job
        p = job["progress"]
        return job if p["stage"] == "parse" and 64 <= p["done"] < p["total"] else None
    return wait_for(midway, timeout=120)


def _job_row(home: Path, job_id: str):
    db = HomeDB(home)
    try:
        return JobStore(db).get(job_id)
    finally:
        db.close()


def test_kill_9_during_an_index_job_then_restart_finishes_it(home_with_repo, tmp_path: Path):
    home, repo, secret, processes = home_with_repo
    log = tmp_path / "serve.log"
    first = serve(home, log, prelude=SLOW_INDEXER)
    processes.append(first.process)
    with first.client(secret) as client:
        job_id = _start_job(client)
        seen = _midway(client, job_id)
    assert first.kill(signal.SIGKILL) == -signal.SIGKILL

    killed = _job_row(home, job_id)
    assert killed.state == "running" and killed.attempts == 1  # nobody marked it: it died
    with codesift.open_index(repo, dense=False) as idx:  # what was committed is usable
        assert idx.check() == []
        redone = sum(sha == file_sha((repo / path).read_bytes()) for path, sha in
                     idx.store().db.execute("SELECT path, sha FROM files"))
        assert seen["progress"]["done"] <= redone < seen["progress"]["total"]

    second = serve(home, log)  # the normal indexer
    processes.append(second.process)
    with second.client(secret) as client:
        def finished():
            job = client.get(f"/jobs/{job_id}").json()
            return job if job["state"] in ("done", "failed") else None
        job = wait_for(finished, timeout=180)
        assert job["state"] == "done", job
        assert job["attempts"] == 2
        # The resumed run redid only what the killed one had not committed.
        assert job["summary"]["files_unchanged"] == redone
        assert job["summary"]["files_indexed"] == seen["progress"]["total"] - redone
        hits = client.post("/repos/stdlib/search", json={"query": "json decoder"}).json()["hits"]
        assert hits
    second.kill(signal.SIGTERM)

    with codesift.open_index(repo, dense=False) as idx:
        assert idx.check() == []
        stored = dict(idx.store().db.execute("SELECT path, sha FROM files"))
    assert stored == {p: file_sha((repo / p).read_bytes()) for p in stored}  # all redone
    fresh = tmp_path / "fresh"
    with codesift.open_index(repo, index_dir=str(fresh), dense=False) as idx:
        idx.update()
        assert dict(idx.store().db.execute("SELECT path, sha FROM files")) == stored


def test_vanished_stream_client_and_graceful_stop(home_with_repo, tmp_path: Path):
    home, repo, secret, processes = home_with_repo
    server = serve(home, tmp_path / "serve.log", prelude=SLOW_INDEXER)
    processes.append(server.process)
    with server.client(secret) as client:
        job_id = _start_job(client)
        _midway(client, job_id)
        for _ in range(3):  # each client reads one event and disappears mid-stream
            with httpx.Client(base_url=server.url, headers=client.headers, timeout=30) as gone:
                with gone.stream("GET", f"/jobs/{job_id}/events") as stream:
                    lines = stream.iter_lines()  # held: dropping it would close the stream
                    assert next(lines) == "event: progress"
                    assert client.get("/readyz").json()["open_streams"] == 1
        wait_for(lambda: client.get("/readyz").json()["open_streams"] == 0, timeout=30)
        assert client.get(f"/jobs/{job_id}").json()["state"] == "running"  # the job went on

        # A second server on the same home would resume the same jobs: refused.
        twin = subprocess.run([sys.executable, "-m", "codesift", "serve", "--home", str(home),
                               "--port", "0"], capture_output=True, text=True, timeout=120)
        assert twin.returncode == 1 and "another codesift server" in twin.stderr

    # SIGTERM: the job stops at its next batch and waits in the queue for the next start.
    # (uvicorn shuts down, then re-raises the signal: the exit status is SIGTERM's.)
    assert server.kill(signal.SIGTERM) == -signal.SIGTERM
    stopped = _job_row(home, job_id)
    assert (stopped.state, stopped.attempts) == ("queued", 1)
    with codesift.open_index(repo, dense=False) as idx:
        assert idx.check() == []


def test_client_leaving_mid_answer_frees_the_stream_and_the_worker(tmp_path: Path, small_repo):
    """The LLM accepts the request and then says nothing: the client reads the context event
    and goes. The stream ends at once; the answer's worker, blocked on the silent LLM, ends
    when that read times out (llm_timeout, 3 s here) and the closed client makes no retry."""
    home = tmp_path / "home"
    secret = make_home(home, {"demo": small_repo})
    with LLMServer(default=Hang(60)) as llm:
        env = {"CODESIFT_LLM_BASE_URL": llm.base_url, "CODESIFT_LLM_MODEL": "test-model",
               "CODESIFT_LLM_CACHE": "0", "CODESIFT_LLM_TIMEOUT": "3"}
        server = serve(home, tmp_path / "serve.log", env=env)
        try:
            with server.client(secret) as client:
                for attempt in (1, 2):
                    with client.stream("POST", "/repos/demo/ask",
                                       json={"question": "how are failed uploads retried?"}) as got:
                        lines = got.iter_lines()
                        assert next(lines) == "event: context"
                        wait_for(lambda: len(llm.chat_requests) == attempt, timeout=30)
                        ready = client.get("/readyz").json()
                        assert ready["open_streams"] == 1 and ready["answers_running"] == 1
                    wait_for(lambda: client.get("/readyz").json()["open_streams"] == 0, timeout=10)
                    wait_for(lambda: client.get("/readyz").json()["answers_running"] == 0,
                             timeout=30)
                    assert len(llm.chat_requests) == attempt  # no retry once the client left
                assert client.post("/repos/demo/search", json={"query": "send"}).status_code == 200
        finally:
            settle(server.process)


SLOW_WATCH = """
import os, time
import codesift.indexer as ix
original, seen = ix.prepare_file, [0]
def slow(source, *args, **kwargs):
    seen[0] += 1
    if seen[0] > 20:
        if seen[0] == 21:
            open(os.environ["CODESIFT_TEST_MARK"], "w").close()
        time.sleep(0.2)
    return original(source, *args, **kwargs)
ix.prepare_file = slow
"""


def test_serve_watch_stops_on_sigterm_in_the_middle_of_a_reindex(tmp_path: Path, small_repo):
    """`codesift serve --watch`: SIGTERM while a watcher re-indexes a large change (400
    files at 0.2 s each, slowed on purpose) ends the server before the re-index would have
    ended (files are left for the next run), waited for with a generous deadline, never a
    sleep. The index stays sound."""
    home = tmp_path / "home"
    secret = make_home(home, {"demo": small_repo})
    mark = tmp_path / "reindexing"
    server = serve(home, tmp_path / "serve.log", prelude=SLOW_WATCH, args=("--watch",),
                   env={"CODESIFT_TEST_MARK": str(mark)})
    try:
        def watching():
            (small_repo / "probe.py").write_text(f"PROBE = {time.monotonic()}\n")
            return _found(server, secret, "PROBE")
        wait_for(watching, timeout=120, step=0.5)
        for i in range(400):
            (small_repo / f"gen_{i:03d}.py").write_text(f"def generated_{i}(x):\n    return x\n")
        wait_for(mark.exists, timeout=120)
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(120)
    finally:
        settle(server.process)
    with codesift.open_index(small_repo, dense=False) as idx:
        assert idx.check() == []
        indexed = idx.store().db.execute(
            "SELECT COUNT(*) FROM files WHERE path LIKE 'gen_%'").fetchone()[0]
    assert indexed < 400  # the server did not wait for the re-index to end


def _found(server, secret: str, word: str) -> bool:
    with server.client(secret) as client:
        reply = client.post("/repos/demo/search", json={"query": word})
    return reply.status_code == 200 and any("probe.py" == h["path"] for h in reply.json()["hits"])
