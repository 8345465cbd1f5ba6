"""The `codesift` command as a user runs it: exit codes, --json shapes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codesift", *args], capture_output=True,
                          text=True, input=stdin, timeout=300)


@pytest.fixture
def indexed(small_repo: Path) -> Path:
    result = run("index", str(small_repo), "--no-dense")
    assert result.returncode == 0, result.stderr
    return small_repo


def test_index_prints_summary(small_repo: Path):
    result = run("index", str(small_repo), "--no-dense")
    assert result.returncode == 0
    assert "indexed" in result.stdout and "python" in result.stdout
    again = run("index", str(small_repo), "--no-dense", "--json")
    summary = json.loads(again.stdout)
    assert summary["files_indexed"] == 0 and summary["files_unchanged"] > 0


def test_dry_run_lists_and_explains(small_repo: Path):
    result = run("index", str(small_repo), "--dry-run", "--json")
    data = json.loads(result.stdout)
    paths = {f["path"] for f in data["files"]}
    assert "pkg/client.py" in paths and "build/generated.py" not in paths
    assert any(s["path"].startswith("build") for s in data["skipped"])
    assert data["languages"]["python"] >= 3
    assert not (small_repo / ".codesift").exists(), "a dry run writes nothing"
    text = run("index", str(small_repo), "--dry-run")
    assert "would be indexed" in text.stdout


def test_search_json_shape(indexed: Path):
    result = run("search", "parse_header", "--repo", str(indexed), "--json", "-k", "3")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert isinstance(hits, list) and 1 <= len(hits) <= 3
    for hit in hits:
        assert {"path", "start_line", "end_line", "symbol", "kind", "language",
                "score"} <= hit.keys()
        assert "\\" not in hit["path"] and not hit["path"].startswith("/")
        assert 1 <= hit["start_line"] <= hit["end_line"]
    assert hits[0]["symbol"].endswith("parse_header")


def test_search_text_output_and_stdin(indexed: Path):
    result = run("search", "-", "--repo", str(indexed), stdin="HttpClient.send\n")
    assert result.returncode == 0 and "pkg/client.py" in result.stdout


def test_a_pasted_100000_character_issue_is_searched_and_packed(indexed: Path):
    from conftest import long_issue
    issue = long_issue(100_000)
    result = run("search", "-", "--repo", str(indexed), "--json", stdin=issue)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert (hits[0]["path"], hits[0]["symbol"]) == ("pkg/session.py", "pkg.session.save_session")
    packed = run("context", "-", "--repo", str(indexed), "--json", stdin=issue)
    assert packed.returncode == 0, packed.stderr
    assert "pkg/session.py" in {c["path"] for c in json.loads(packed.stdout)["citations"]}
    # Past the library's cap (1,000,000 characters): one line and a hint, exit 2.
    refused = run("search", "-", "--repo", str(indexed), stdin="x" * 1_000_001)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "more than the 1,000,000 allowed" in refused.stderr
    assert "max_query_chars" in refused.stderr


def test_status_and_hits_show_file_kinds(indexed: Path):
    text = run("status", "--repo", str(indexed)).stdout
    kinds = json.loads(run("status", "--repo", str(indexed), "--json").stdout)["kinds"]
    assert f"file kinds: source {kinds['source']}, " in text and kinds["test"] >= 1
    hits = json.loads(run("search", "test parse header", "--repo", str(indexed), "--json").stdout)
    assert {h["file_kind"] for h in hits} >= {"source", "test"}
    assert all(h["file_kind"] == "test" for h in hits if h["path"].startswith("tests/"))


def test_status_json(indexed: Path):
    result = run("status", "--repo", str(indexed), "--json", "--check")
    info = json.loads(result.stdout)
    assert info["files"] >= 5 and info["chunks"] > info["files"]
    assert info["integrity_problems"] == []


@pytest.mark.parametrize("args, code, needle", [
    (["search", "", "--repo", "{repo}"], 2, "empty query"),
    (["search", "x", "-k", "0", "--repo", "{repo}"], 2, "k must be"),
    (["search", "x", "--repo", "{missing}"], 2, "no such directory"),
    (["index", "{missing}"], 2, "no such directory"),
    (["search", "x", "--repo", "{unindexed}"], 1, "no index"),
    (["index", "{repo}", "--embedder", "bogus"], 1, "unknown embedder"),
])
def test_errors_are_one_line_with_hint(indexed: Path, tmp_path: Path, args, code, needle):
    (tmp_path / "unindexed").mkdir()
    subs = {"repo": str(indexed), "missing": str(tmp_path / "missing"),
            "unindexed": str(tmp_path / "unindexed")}
    result = run(*[a.format(**subs) for a in args])
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error:") and needle in lines[0]
    assert len(lines) <= 2


def test_corrupt_index_error(indexed: Path):
    (indexed / ".codesift" / "index.db").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (indexed / ".codesift" / f"index.db{suffix}").unlink(missing_ok=True)
    result = run("search", "x", "--repo", str(indexed))
    assert result.returncode == 1
    assert "not a usable codesift index" in result.stderr and "Traceback" not in result.stderr
