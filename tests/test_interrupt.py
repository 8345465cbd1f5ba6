"""Kill -9 an index run midway: the previous index stays usable and consistent, and
the next run finishes the work."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import codesift
from codesift.indexer import file_sha

from conftest import STDLIB

CHILD = textwrap.dedent("""
    import sys, time
    import codesift, codesift.indexer as ix
    repo, marker = sys.argv[1], sys.argv[2]
    original, seen = ix.prepare_file, [0]
    def slow(source):
        seen[0] += 1
        if seen[0] == 150:
            open(marker, "w").write("past the first batches")
        if seen[0] > 150:
            time.sleep(0.05)  # leave time to be killed in the middle of a batch
        return original(source)
    ix.prepare_file = slow
    with codesift.open_index(repo, dense=False) as idx:
        idx.update()
""")


def _copy_stdlib(dest: Path, n: int = 400) -> list[Path]:
    files = sorted(STDLIB.glob("*.py"))[:n]
    dest.mkdir()
    for f in files:
        shutil.copy(f, dest / f.name)
    return sorted(dest.glob("*.py"))


def test_kill_during_index_keeps_previous_index(tmp_path: Path):
    repo = tmp_path / "repo"
    files = _copy_stdlib(repo)
    with codesift.open_index(repo, dense=False) as idx:
        idx.update()
        indexed = {p for (p,) in idx.store().db.execute("SELECT path FROM files")}
    files = [f for f in files if f.name in indexed]  # discovery skips generated files
    old = {f.name: file_sha(f.read_bytes()) for f in files}
    for f in files:  # change every file so the next run has all of them to redo
        f.write_text(f.read_text() + "\n\ndef added_by_the_test():\n    return 1\n")
    new = {f.name: file_sha(f.read_bytes()) for f in files}

    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(repo), str(marker)])
    deadline = time.monotonic() + 120
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.poll() is None, "the child finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    with codesift.open_index(repo, dense=False) as idx:
        assert idx.check() == []
        stored = dict(idx.store().db.execute("SELECT path, sha FROM files"))
        assert set(stored) == set(old)
        states = {("old" if stored[p] == old[p] else "new" if stored[p] == new[p] else "?")
                  for p in stored}
        assert states == {"old", "new"}, "the kill should land between committed batches"
        assert idx.search("added_by_the_test", k=3)  # usable: committed files are searchable
        assert idx.search("json decoder", k=3)

        summary = idx.update()  # the next run finishes the work
        assert 0 < summary.files_indexed < len(files)
        stored = dict(idx.store().db.execute("SELECT path, sha FROM files"))
        assert stored == new
        chunks_after_resume = idx.status()["chunks"]

    fresh = tmp_path / "fresh"
    with codesift.open_index(repo, index_dir=str(fresh), dense=False) as idx:
        idx.update()
        assert idx.status()["chunks"] == chunks_after_resume


def test_a_first_run_stopped_early_resumes_without_re_parsing(tmp_path: Path, monkeypatch):
    """The index's format (parser, redaction) is recorded before the first batch: a killed
    first run must not look like an index of another format, which is re-parsed whole."""
    import codesift.indexer as indexer
    repo = tmp_path / "repo"
    files = _copy_stdlib(repo)
    real = indexer.write_batches

    def first_batch_only(store, todo, *args, **kwargs):
        real(store, todo[:indexer.FILE_BATCH], *args, **kwargs)
        raise KeyboardInterrupt

    with codesift.open_index(repo, dense=False) as idx:
        monkeypatch.setattr(indexer, "write_batches", first_batch_only)
        with pytest.raises(KeyboardInterrupt):
            idx.update()
        monkeypatch.setattr(indexer, "write_batches", real)
        done = idx.status()["files"]
        assert 0 < done < len(files)
        summary = idx.update()
        assert summary.files_indexed == summary.files_seen - done  # only what was left
