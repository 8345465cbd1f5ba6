"""Live re-indexing: single-path discovery agrees with the walk, a path-limited update
leaves the same index as a full run, the watcher re-indexes real file-system events, and
searches running meanwhile never fail nor see a mix of two versions of a file."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import codesift
from codesift.ingest.discover import discover
from codesift.model import SourceFile
from codesift.ingest.discover import classify_path
from codesift.watch import Reindex, Watcher

EVENT_TIMEOUT = 30.0


def _tricky_tree(root: Path) -> Path:
    from conftest import SMALL_REPO, write_tree
    write_tree(root, {
        **SMALL_REPO,
        "pkg/.gitignore": "*.log\n!keep.log\ngenerated/\n",
        "pkg/debug.log": "noise\n",
        "pkg/keep.log": "kept on purpose\n",
        "pkg/generated/out.py": "x = 1\n",
        "pkg/sub/.codesiftignore": "secret_*.py\n",
        "pkg/sub/secret_keys.py": "KEY = 1\n",
        "pkg/sub/util.py": "def helper():\n    return 2\n",
        "node_modules/lib/index.js": "module.exports = 1;\n",
        "dist/bundle.py": "def built(): pass\n",
        "empty.py": "",
        "data.bin": "",
        "notes.txt": "plain notes\n",
        "package-lock.json": "{}\n",
    })
    (root / "data.bin").write_bytes(b"\x00\x01binary")
    (root / "big.py").write_text("x = 1\n" * 400_000)
    (root / "link.py").symlink_to(root / "pkg" / "session.py")
    (root / "dangling.py").symlink_to(root / "nowhere.py")
    return root


def test_classify_path_agrees_with_the_walk(tmp_path: Path):
    root = _tricky_tree(tmp_path / "repo")
    found = discover(root, extra_ignores=("docs/",))
    kept = {f.path for f in found.files}
    every = [os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/")
             for d, _, names in os.walk(root) for n in names]
    assert len(every) > 20 and kept
    for rel in every:
        verdict = classify_path(root, rel, extra_ignores=("docs/",))
        assert isinstance(verdict, SourceFile) == (rel in kept), (rel, verdict)
    assert classify_path(root, "no/such/file.py") is None


def _snapshot(db_path: Path) -> dict:
    """What an index holds, independent of row ids and run order."""
    db = sqlite3.connect(db_path)
    try:
        return {
            "files": sorted(db.execute("SELECT path, sha, n_lines, language FROM files")),
            "chunks": sorted(db.execute(
                "SELECT path, kind, symbol, start_line, end_line, context_text FROM chunks")),
            "symbols": sorted(db.execute(
                "SELECT f.path, s.qualname, s.start_line FROM symbols s JOIN files f"
                " ON f.id = s.file_id")),
            "edges": sorted(db.execute(
                "SELECT e.kind, f.path, e.src, e.name, e.line, e.dst_path, e.dst, e.confidence"
                " FROM edges e JOIN files f ON f.id = e.src_file")),
            "fts": db.execute("SELECT COUNT(*) FROM chunks_fts").fetchone(),
        }
    finally:
        db.close()


def test_update_of_named_paths_equals_a_full_run(tmp_path: Path):
    from conftest import SMALL_REPO, write_tree
    root = write_tree(tmp_path / "repo", SMALL_REPO)
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
        client = root / "pkg/client.py"
        client.write_text(client.read_text().replace("def parse_header", "def split_header"))
        (root / "pkg/session.py").unlink()
        (root / "pkg/extra.py").write_text("from .client import split_header\n\n"
                                           "def use():\n    return split_header('a: b')\n")
        (root / "build/generated.py").write_text("def still_ignored(): pass\n")
        summary = idx.update(paths=["pkg/client.py", "pkg/session.py", "pkg/extra.py",
                                    "build/generated.py", "pkg/gone_before.py"])
        assert (summary.files_indexed, summary.files_deleted) == (2, 1)
        assert summary.files_seen == 2  # no walk: only the named paths were looked at
        assert idx.search("split_header", k=1)[0].path == "pkg/client.py"
    full = tmp_path / "full"
    with codesift.open_index(root, dense=False, index_dir=str(full)) as fresh:
        fresh.update()
    assert _snapshot(root / ".codesift/index.db") == _snapshot(full / "index.db")


def test_a_removed_directory_leaves_and_a_new_one_is_walked(tmp_path: Path):
    from conftest import SMALL_REPO, write_tree
    root = write_tree(tmp_path / "repo", SMALL_REPO)
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
        (root / "web/server.go").unlink()
        (root / "web").rmdir()
        assert idx.update(paths=["web"]).files_deleted == 1
        write_tree(root, {"newpkg/a.py": "def fresh_a(): pass\n", "newpkg/b.py": "x = 2\n"})
        summary = idx.update(paths=["newpkg"])  # a directory appeared: walked whole
        assert summary.files_seen == len(discover(root).files)
        assert {"web/server.go"} & set(idx.store().file_states()) == set()
        assert idx.search("fresh_a", k=1)[0].path == "newpkg/a.py"


@pytest.fixture
def watched(tmp_path: Path):
    """A dense index of the small repository with a watcher running on it; yields
    (root, queue of Reindex events)."""
    from conftest import SMALL_REPO, write_tree
    root = write_tree(tmp_path / "repo", SMALL_REPO)
    events: queue.Queue[Reindex] = queue.Queue()
    watcher = Watcher(root, listeners=[events.put]).start()
    assert watcher.ready.wait(EVENT_TIMEOUT) and watcher.error is None
    first = events.get(timeout=EVENT_TIMEOUT)
    assert first.paths == () and first.full and first.files_indexed == 7
    yield root, events
    watcher.stop()
    assert watcher.error is None


def _next(events: queue.Queue, path: str) -> Reindex:
    while True:
        event = events.get(timeout=EVENT_TIMEOUT)
        if path in event.paths:
            return event


def test_watcher_reindexes_edits_deletions_and_new_directories(watched):
    root, events = watched
    with codesift.open_index(root) as reader:
        client = root / "pkg/client.py"
        client.write_text(client.read_text() + "\n\ndef rotate_credentials(vault):\n"
                          '    """Swap the API keys stored in the vault for new ones."""\n'
                          "    return vault.rotate()\n")
        event = _next(events, "pkg/client.py")
        assert (event.files_indexed, event.error, event.full) == (1, None, False)
        assert event.vectors_embedded >= 1 and 0 < event.lag < 10
        hit = reader.search("replace the secret keys kept in a vault", k=3)[0]
        assert hit.symbol.endswith("rotate_credentials") and "dense" in hit.sources

        (root / "pkg/session.py").unlink()
        assert _next(events, "pkg/session.py").files_deleted == 1
        assert not any(h.path == "pkg/session.py" for h in reader.search("save_session", k=5))
        # Every chunk that should have a vector has one, and no vector outlives its chunk.
        assert reader.status()["chunks_without_vector"] == 0
        assert reader.store().db.execute(
            "SELECT COUNT(*) FROM vectors WHERE text_hash NOT IN (SELECT text_hash FROM chunks)"
        ).fetchone()[0] == 0

        (root / "tools").mkdir()
        (root / "tools/cleanup.py").write_text("def purge_stale_sessions():\n    pass\n")
        event = events.get(timeout=EVENT_TIMEOUT)
        assert event.error is None and event.files_indexed >= 1
        assert reader.search("purge_stale_sessions", k=1)[0].path == "tools/cleanup.py"

        # Ignored files and the index's own writes cause no re-index at all.
        (root / "build/generated.py").write_text("def still_not_indexed(): pass\n")
        (root / "node_modules").mkdir()
        (root / "node_modules/x.js").write_text("var a = 1;\n")
        time.sleep(1.0)
        while not events.empty():
            quiet = events.get()
            assert quiet.files_indexed == 0 and quiet.files_deleted == 0, quiet
            assert not any(p.startswith((".codesift", "node_modules")) for p in quiet.paths)
        assert reader.search("still_not_indexed", k=3) == [] or \
            all(h.path != "build/generated.py" for h in reader.search("still_not_indexed", k=3))


VERSIONS = 40


def _version(i: int) -> str:
    """Version i of a module: a different number of lines on top shifts every definition,
    and each body names its version, so a row of one version with text of another shows."""
    pad = "".join(f"# padding line {j} of version {i}\n" for j in range(i % 9))
    funcs = "".join(f"\n\ndef ledger_entry_{k}(amount):\n"
                    f'    """Post amount to ledger {k} (version {i})."""\n'
                    f"    total = amount * {k + 1}\n"
                    f"    return total + {i}\n" for k in range(4 + i % 5))
    return f'"""Ledger module, version {i}."""\n{pad}{funcs}'


def _consistent(hit, versions: list[str]) -> bool:
    want = [line for line in hit.snippet.splitlines() if line.strip()]
    for text in versions:
        lines = text.split("\n")[hit.start_line - 1:hit.end_line]
        shown = [line for line in lines if line.strip()][:len(want)]
        if hit.end_line <= len(text.split("\n")) + 1 and shown == want:
            return True
    return False


def test_searches_during_reindexing_see_old_or_new_never_a_mix(watched):
    root, events = watched
    target = root / "pkg/ledger.py"
    written = [_version(0)]
    target.write_text(written[0])
    _next(events, "pkg/ledger.py")
    shared = codesift.open_index(root)  # one Index shared by two threads, as a server may
    stop = threading.Event()
    failures: list[str] = []
    checked = [0]

    def hammer(index):
        queries = ["post amount to ledger", "ledger_entry_2", "ledger module version"]
        try:
            while not stop.is_set():
                for query in queries:
                    for hit in index.search(query, k=10):
                        if hit.path == "pkg/ledger.py":
                            checked[0] += 1
                            if not _consistent(hit, list(written)):
                                failures.append(f"{hit.start_line}-{hit.end_line}: {hit.snippet!r}")
        except Exception as exc:  # noqa: BLE001 - the point of the test
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=hammer, args=(shared,)) for _ in range(2)]
    own = codesift.open_index(root)
    threads.append(threading.Thread(target=hammer, args=(own,)))
    for t in threads:
        t.start()
    try:
        for i in range(1, VERSIONS):
            written.append(_version(i))
            target.write_text(written[-1])
            time.sleep(0.03 + 0.05 * (i % 3))  # sometimes inside a debounce window, sometimes not
        _settle(events, "pkg/ledger.py")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        shared.close()
        own.close()
    assert not failures, failures[:5]
    assert checked[0] > 100
    final = codesift.open_index(root)
    hits = [h for h in final.search("ledger_entry_2", k=10) if h.path == "pkg/ledger.py"]
    assert hits and all(_consistent(h, [written[-1]]) for h in hits)
    final.close()


def _settle(events: queue.Queue, path: str, quiet: float = 0.6) -> None:
    """Wait until the watcher has gone `quiet` seconds without re-indexing `path`."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=quiet)
            assert event.error is None, event.error
        except queue.Empty:
            return
    raise AssertionError(f"{path} never settled")


def test_watch_command_prints_one_json_line_per_reindex(tmp_path: Path):
    from conftest import SMALL_REPO, write_tree
    root = write_tree(tmp_path / "repo", SMALL_REPO)
    proc = subprocess.Popen([sys.executable, "-m", "codesift", "watch", str(root), "--no-dense",
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(_readline(proc))
        assert first["paths"] == [] and first["files_indexed"] == 7 and first["full"]
        (root / "pkg/session.py").write_text("def renamed_session(): pass\n")
        line = json.loads(_readline(proc))
        assert line["paths"] == ["pkg/session.py"] and line["files_indexed"] == 1
        assert line["lag"] >= 0 and line["error"] is None
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=EVENT_TIMEOUT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped" in err


def test_watch_command_stops_on_sigterm_during_a_reindex(tmp_path: Path):
    """SIGTERM while a large change is being indexed: the process ends within the deadline
    (waited for with a generous timeout, never a fixed sleep) and the index stays usable."""
    from conftest import SMALL_REPO, write_tree
    root = write_tree(tmp_path / "repo", SMALL_REPO)
    proc = subprocess.Popen([sys.executable, "-m", "codesift", "watch", str(root), "--no-dense",
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(_readline(proc))["full"]  # the catch-up run is done: watching
        for i in range(400):
            (root / f"gen_{i:03d}.py").write_text(f"def generated_{i}(x):\n    return x + {i}\n")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=EVENT_TIMEOUT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped" in err
    import codesift
    with codesift.open_index(root, dense=False) as idx:  # not corrupted: it updates and answers
        idx.update()
        assert any(h.symbol.endswith("generated_7") for h in idx.search("generated_7"))


def _readline(proc: subprocess.Popen) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(EVENT_TIMEOUT)
    assert result and result[0], "no output from codesift watch"
    return result[0]


@pytest.mark.parametrize("args, needle, code", [
    (["/no/such/repo"], "no such directory", 2),
    ([".", "--step", "0"], "bad watch timing", 2),
    (["."], "not a usable codesift index", 1),
])
def test_watch_command_bad_input_is_one_line(args, needle, code, tmp_path: Path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / ".codesift").mkdir()
    (tmp_path / ".codesift/index.db").write_bytes(b"this is not sqlite" * 100)
    got = subprocess.run([sys.executable, "-m", "codesift", "watch", *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == code
    assert got.stderr.startswith("error: ") and needle in got.stderr
    assert "Traceback" not in got.stderr


def test_a_stuck_stop_is_forced_after_its_deadline(tmp_path: Path):
    """Whatever holds the process after Ctrl-C (here: code that swallows the interrupt and
    keeps waiting), it ends once the deadline passes, saying so."""
    script = tmp_path / "stuck.py"
    script.write_text(
        "import signal, sys, time\n"
        "from codesift.cli import watch as w\n"
        "w.STOP_DEADLINE_S = 0.5\n"
        "signal.signal(signal.SIGINT, w._interrupt_with_deadline)\n"
        "try:\n"  # 'ready' inside the try: an interrupt right after it is still caught
        "    print('ready', flush=True)\n"
        "    time.sleep(600)\n"
        "except KeyboardInterrupt:\n"
        "    while True:\n"
        "        time.sleep(1)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert _readline(proc).strip() == "ready"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=EVENT_TIMEOUT)
    assert proc.returncode == 0 and "stopped (forced" in err
