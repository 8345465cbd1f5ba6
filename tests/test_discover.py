"""Discovery on real directory trees built in tmp_path: ignore files, vendored and generated
trees, binaries, oversize files, bad encodings and symlinks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from codesift.errors import PathError
from codesift.ingest.discover import discover, read_text

STDLIB = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")


def write(root: Path, rel: str, content: str | bytes = "x = 1\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def result(root: Path, **kwargs) -> tuple[dict[str, str], dict[str, str]]:
    found = discover(root, **kwargs)
    return {f.path: f.language for f in found.files}, {s.path: s.reason for s in found.skipped}


def test_nested_gitignore_with_negation_and_anchors(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.log\n/out/\nsecret*.py\n")
    write(tmp_path, "app.py")
    write(tmp_path, "debug.log", "log\n")
    write(tmp_path, "out/gen.py")
    write(tmp_path, "src/out/real.py")  # /out/ is anchored to the root
    write(tmp_path, "secret_key.py")
    write(tmp_path, "sub/.gitignore", "!keep.log\nlocal_*.py\n/anchored.py\n")
    write(tmp_path, "sub/keep.log", "kept\n")
    write(tmp_path, "sub/other.log", "dropped\n")
    write(tmp_path, "sub/local_conf.py")
    write(tmp_path, "sub/anchored.py")
    write(tmp_path, "sub/deeper/anchored.py")  # anchored to sub/, so this one stays
    write(tmp_path, "local_conf.py")  # sub/.gitignore does not reach its parent
    files, skipped = result(tmp_path)
    assert {"app.py", "src/out/real.py", "sub/keep.log", "sub/deeper/anchored.py", "local_conf.py"} <= set(files)
    assert skipped["debug.log"] == "gitignored"
    assert skipped["out/"] == "gitignored"
    assert "out/gen.py" not in skipped  # reported once for the directory
    assert skipped["secret_key.py"] == "gitignored"
    assert skipped["sub/other.log"] == "gitignored"
    assert skipped["sub/local_conf.py"] == "gitignored"
    assert skipped["sub/anchored.py"] == "gitignored"


def test_git_info_exclude_and_codesiftignore(tmp_path: Path) -> None:
    write(tmp_path, ".git/info/exclude", "scratch.py\n")
    write(tmp_path, ".git/HEAD", "ref: refs/heads/main\n")
    write(tmp_path, ".gitignore", "gen/\n")
    write(tmp_path, ".codesiftignore", "fixtures/\n")
    write(tmp_path, "scratch.py")
    write(tmp_path, "fixtures/big.py")
    write(tmp_path, "pkg/.codesiftignore", "*_pb2.py\n")
    write(tmp_path, "pkg/api_pb2.py")
    write(tmp_path, "pkg/api.py")
    files, skipped = result(tmp_path)
    assert set(files) == {".codesiftignore", ".gitignore", "pkg/.codesiftignore", "pkg/api.py"}
    assert skipped["scratch.py"] == "gitignored"
    assert skipped["fixtures/"] == "codesiftignored"
    assert skipped["pkg/api_pb2.py"] == "codesiftignored"
    assert skipped[".git/"].startswith("version control")


def test_extra_ignores_win_over_negations(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "!docs/\n")
    write(tmp_path, "docs/a.md", "# A\n")
    write(tmp_path, "a.py")
    files, skipped = result(tmp_path, extra_ignores=("docs/",))
    assert "a.py" in files and skipped["docs/"] == "ignored by pattern"


def test_vendored_cache_and_build_directories(tmp_path: Path) -> None:
    write(tmp_path, "node_modules/lib/index.js", "module.exports = 1;\n")
    write(tmp_path, "__pycache__/a.cpython-311.pyc", b"\x00\x01")
    write(tmp_path, ".venv/lib/x.py")
    write(tmp_path, "env/pyvenv.cfg", "home = /usr\n")
    write(tmp_path, "env/lib/y.py")
    write(tmp_path, "environment/env.py")  # not a virtualenv
    write(tmp_path, "dist/pkg.py")
    write(tmp_path, "src/build/__init__.py")  # pypa/build: a real package named build
    write(tmp_path, "Cargo.toml", "[package]\nname = 'x'\n")
    write(tmp_path, "target/debug/main.rs", "fn main() {}\n")
    write(tmp_path, "web/target/keep.js", "let a = 1;\n")  # no build manifest beside it
    write(tmp_path, "demo.egg-info/PKG-INFO", "Name: demo\n")
    write(tmp_path, "vendor/github.com/x/y.go", "package y\n")
    write(tmp_path, "third_party/lib.py")  # often real code: kept
    files, skipped = result(tmp_path)
    assert skipped["node_modules/"] == "vendored (node_modules)"
    assert skipped["__pycache__/"].startswith("cache")
    assert skipped[".venv/"].startswith("virtualenv")
    assert skipped["env/"].startswith("virtualenv")
    assert skipped["dist/"].startswith("build output")
    assert skipped["target/"].startswith("build output")
    assert skipped["demo.egg-info/"].startswith("build output")
    assert skipped["vendor/"].startswith("vendored")
    assert {"environment/env.py", "src/build/__init__.py", "web/target/keep.js", "third_party/lib.py"} <= set(files)
    assert not any(p.startswith(("node_modules/", "env/", ".venv/")) for p in skipped if not p.endswith("/"))


def test_file_level_skips(tmp_path: Path) -> None:
    write(tmp_path, "app.min.js", "var a=1;\n")
    write(tmp_path, "bundle.js", "var a=" + "1+" * 700 + "1;\n")  # one huge line: minified
    write(tmp_path, "normal.js", "const a = 1;\nfunction f() { return a; }\n")
    write(tmp_path, "app.js.map", '{"version":3}\n')
    write(tmp_path, "package-lock.json", "{}\n")
    write(tmp_path, "poetry.lock", "# lock\n")
    write(tmp_path, "go.sum", "x v1 h1:abc\n")
    write(tmp_path, "gen.go", "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage gen\n")
    write(tmp_path, "gen2.py", "# @generated by tool\nx = 1\n")
    write(tmp_path, "mentions.py", 'MARKER = "@generated"\n')  # code that only mentions the marker
    write(tmp_path, "logo.png", b"\x89PNG\r\n\x1a\n")
    write(tmp_path, "data.bin.dat", b"abc\x00def")
    write(tmp_path, "empty.py", "")
    write(tmp_path, "big.py", "x = 1\n" * 1000)
    write(tmp_path, "notes.weird", "plain words in a file with an odd extension\n")
    write(tmp_path, "blob.weird", bytes(range(128, 256)) * 4)
    write(tmp_path, "run", "#!/usr/bin/env python3\nprint('hi')\n")
    files, skipped = result(tmp_path, max_file_bytes=2000)
    assert skipped["app.min.js"] == "minified"
    assert skipped["bundle.js"] == "minified"
    assert skipped["app.js.map"] == "source map"
    assert skipped["package-lock.json"] == skipped["poetry.lock"] == skipped["go.sum"] == "lock file"
    assert skipped["gen.go"] == skipped["gen2.py"] == "generated"
    assert skipped["logo.png"].startswith("binary")
    assert skipped["data.bin.dat"] == "binary"
    assert skipped["empty.py"] == "empty"
    assert skipped["big.py"] == "oversize (6.0 kB > 2.0 kB)"
    assert skipped["blob.weird"] == "unknown type"
    assert files["normal.js"] == "javascript"
    assert files["mentions.py"] == "python"
    assert files["notes.weird"] == "text"
    assert files["run"] == "python"  # by shebang
    found = discover(tmp_path, max_file_bytes=2000)
    assert [f.path for f in found.files] == sorted(f.path for f in found.files)
    assert all(os.path.isabs(f.abspath) and f.size > 0 for f in found.files)


def test_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    repo = tmp_path / "repo"
    write(outside, "secret.py")
    write(repo, "real.py")
    (repo / "leak.py").symlink_to(outside / "secret.py")
    (repo / "leakdir").symlink_to(outside, target_is_directory=True)
    (repo / "alias.py").symlink_to(repo / "real.py")
    (repo / "dangling.py").symlink_to(repo / "missing.py")
    files, skipped = result(repo)
    assert set(files) == {"real.py"}
    assert skipped["leak.py"] == "symlink outside repository"
    assert skipped["leakdir/"] == "symlink outside repository"
    assert skipped["alias.py"] == "symlink (duplicate of real.py)"
    assert skipped["dangling.py"] == "broken symlink"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "locked.py")
    path.chmod(0)
    _, skipped = result(tmp_path)
    assert skipped["locked.py"].startswith("unreadable: ")


def test_bad_root_raises_path_error(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="does not exist") as err:
        discover(tmp_path / "nope")
    assert err.value.hint
    with pytest.raises(PathError, match="not a directory"):
        discover(write(tmp_path, "file.py"))


def test_read_text_encodings(tmp_path: Path) -> None:
    assert read_text(str(write(tmp_path, "crlf.py", b"a = 1\r\nb = 2\r\n"))) == ("a = 1\nb = 2\n", None)
    assert read_text(str(write(tmp_path, "bom.py", b"\xef\xbb\xbfx = 1\n"))) == ("x = 1\n", None)
    text, warning = read_text(str(write(tmp_path, "u16.txt", "h\u00e9llo\r\n".encode("utf-16"))))
    assert text == "h\u00e9llo\n" and "UTF-16" in warning
    text, warning = read_text(str(write(tmp_path, "latin.py", "# caf\u00e9\nx = 1\n".encode("latin-1"))))
    assert text == "# caf\u00e9\nx = 1\n" and warning == "not valid UTF-8, decoded as latin-1"


def test_bad_encoding_file_is_discovered(tmp_path: Path) -> None:
    write(tmp_path, "latin.py", "# caf\u00e9\nx = 1\n".encode("latin-1"))
    files, _ = result(tmp_path)
    assert files == {"latin.py": "python"}


@pytest.mark.skipif(not STDLIB.is_dir(), reason="needs the CPython stdlib")
def test_stdlib_tree() -> None:
    found = discover(STDLIB)
    paths = {f.path for f in found.files}
    reasons = {s.path: s.reason for s in found.skipped}
    assert len(found.files) > 2000
    assert "json/decoder.py" in paths and "venv/__init__.py" in paths
    assert reasons["__pycache__/"].startswith("cache")
    assert not any("__pycache__/" in p for p in paths)


def test_known_files_keep_their_language_until_size_or_mtime_changes(tmp_path: Path) -> None:
    # The indexer passes what it holds: a file whose size and mtime match is not read again
    # (the same trust the indexer gives size and mtime before re-reading a file).
    script = tmp_path / "run"
    script.write_text("#!/usr/bin/env python3\nprint('hi')\n")
    first = {f.path: f for f in discover(tmp_path).files}["run"]
    assert first.language == "python"  # by its shebang: only the first bytes tell
    known = {"run": (first.size, first.mtime_ns, first.language)}
    # Same size, same mtime, other first line: `known` stands for the bytes.
    script.write_text("#!/bin/sh\n#ho 'hi' # padded to the size\n"[:first.size].ljust(first.size))
    os.utime(script, ns=(first.mtime_ns, first.mtime_ns))
    assert {f.path: f.language for f in discover(tmp_path, known=known).files} == {"run": "python"}
    assert {f.path: f.language for f in discover(tmp_path).files} == {"run": "shell"}
    # A new mtime: classified from its bytes again.
    os.utime(script, ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
    assert {f.path: f.language for f in discover(tmp_path, known=known).files} == {"run": "shell"}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_files_git_tracks_are_indexed_though_a_gitignore_matches(tmp_path: Path) -> None:
    # ujson's layout: the common Python .gitignore ignores lib/, yet its C core is tracked
    # there. git ignores only untracked files; so does discovery, in a repository.
    from codesift.ingest.discover import classify_path
    write(tmp_path, ".gitignore", "lib/\n*.log\n")
    write(tmp_path, "lib/core.c", "int core(void) { return 1; }\n")
    write(tmp_path, "lib/scratch.c", "int scratch(void) { return 2; }\n")
    write(tmp_path, "notes.log", "kept on purpose\n")
    write(tmp_path, "run.log", "noise\n")
    outside = tmp_path.parent / (tmp_path.name + "-copy")
    shutil.copytree(tmp_path, outside)  # the same tree, no repository around it
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-f", "lib/core.c", "notes.log"], check=True)
    files, skipped = result(tmp_path)
    assert {"lib/core.c", "notes.log"} <= set(files)
    assert skipped["lib/scratch.c"] == skipped["run.log"] == "gitignored"
    assert classify_path(tmp_path, "lib/core.c").language == "c"
    assert classify_path(tmp_path, "lib/scratch.c").reason == "gitignored"
    files, skipped = result(outside)
    assert "lib/core.c" not in files and skipped["lib/"] == "gitignored"
