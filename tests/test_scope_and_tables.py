"""Component prefixes (`net/http: ...`) search where they point; tables in code (a long
top-level array or map) are named by their declaration in every window."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import codesift
from codesift.ingest.declarations import declaration_spans, name_at
from codesift.retrieve.query import analyse, subject_scopes
from codesift.retrieve.scope import scope_globs

from conftest import write_tree
from test_chunk import chunks_of


@pytest.mark.parametrize("text, scopes", [
    ("net/http: reject header values with a NUL byte", ("net/http",)),
    ("mm/slab: fix the freelist on double free", ("mm/slab",)),
    ("fix(runtime-dom): keep the class on hydration", ("runtime-dom",)),
    ("feat(server, client)!: add batching", ("server", "client")),
    ("cmd/go, go/build: read the toolchain line", ("cmd/go", "go/build")),
    ("tracing-subscriber: fix the fmt layer's span order", ("tracing-subscriber",)),
    ("crate::fmt::writer: flush on drop", ("fmt/writer",)),
    ("[core] make the scheduler yield", ("core",)),
    ("Fix: the loader drops the last line", ()),
    ("Note: this changes nothing about paths", ()),
    ("Make parse_config skip blank lines", ()),
    ("fix: handle the empty case", ()),
])
def test_subject_scopes(text, scopes):
    assert subject_scopes(text) == scopes
    assert analyse(text).scopes == scopes


def test_scope_globs_shallowest_first_dirs_and_files():
    paths = ["http2/frame.go", "http2/server.go", "internal/quic/conn.go", "quic/stream.go",
             "mm/slab.c", "mm/slub.c", "packages/runtime-dom/src/index.ts", "README.md",
             "tracing-subscriber/src/reload.rs", "tracing/src/subscriber.rs",
             "tracing-core/src/subscriber.rs", "a/macros.rs", "b/macros.rs"]
    assert scope_globs(("http2",), paths) == ["http2/*"]
    assert scope_globs(("quic",), paths) == ["quic/*"]  # the shallowest place only
    assert scope_globs(("subscriber",), paths) == ["tracing-subscriber/*"]  # a workspace member
    assert scope_globs(("macros",), paths) == ["a/macros.rs", "b/macros.rs"]
    assert scope_globs(("mm/slab",), paths) == ["mm/slab.c"]
    assert scope_globs(("runtime_dom",), paths) == ["packages/runtime-dom/*"]
    assert scope_globs(("nothing",), paths) == []


@pytest.fixture()
def scoped_repo(tmp_path: Path) -> Path:
    body = '''
        def parse_header(line):
            """Split a header line into its name and value."""
            name, _, value = line.partition(":")
            return name.strip(), value.strip()
    '''
    return write_tree(tmp_path / "repo", {
        "netx/http/header.py": body,
        "netx/mail/header.py": body + "\n\ndef mail_only():\n    return 1\n",
        "netx/smtp/header.py": body + "\n\ndef smtp_only():\n    return 2\n",
    })


def test_prefix_ranks_its_place_first(scoped_repo: Path, tmp_path: Path):
    with codesift.open_index(scoped_repo, index_dir=tmp_path / "idx", dense=False) as idx:
        idx.update()
        plain = idx.search("split a header line into name and value", k=3)
        scoped = idx.search("smtp: split a header line into name and value", k=3)
        deeper = idx.search("netx/mail: split a header line into name and value", k=3)
    assert plain[0].path == "netx/http/header.py"  # three equal functions: the first indexed
    assert scoped[0].path == "netx/smtp/header.py" and "scope" in scoped[0].sources
    assert deeper[0].path == "netx/mail/header.py"


TABLE_ROWS = "\n".join(f'    (&["lang{i}"], &["*.ext{i}"]),' for i in range(150))


@pytest.mark.parametrize("path, text, name", [
    ("types.rs", f"//! File types.\n\npub const DEFAULT_TYPES: &[(&[&str], &[&str])] = &[\n{TABLE_ROWS}\n];\n",
     "DEFAULT_TYPES"),
    ("codes.go", "package http\n\nvar statusText = map[int]string{\n"
     + "\n".join(f'\t{i}: "Status {i}",' for i in range(150)) + "\n}\n", "statusText"),
    ("handlers.js", "const handlers = {\n" + "\n".join(f"  h{i}: (b) => b + {i}," for i in range(150))
     + "\n};\n", "handlers"),
    ("ops.c", "#include <x.h>\n\nstatic const struct op ops[] = {\n"
     + "\n".join(f"    {{{i}, \"op{i}\"}}," for i in range(150)) + "\n};\n", "ops"),
    ("table.py", '"""Codes."""\n\nCODES = {\n' + "\n".join(f"    {i}: 'code {i}'," for i in range(150))
     + "\n}\n", "CODES"),
])
def test_every_window_of_a_table_is_named(path, text, name):
    chunks = chunks_of(path, text)
    windows = [c for c in chunks if c.kind == "block"]
    assert windows, [(c.kind, c.start_line, c.end_line) for c in chunks]
    assert all(c.symbol == name for c in windows)
    assert all(c.embedding_text.startswith(f"{name} ") for c in windows)


def test_declaration_spans_close_with_their_brackets():
    lines = ["import os", "", "TABLE = {", "  'a': 1,", "}", "", "print(TABLE)", "X: int = 3"]
    spans = declaration_spans(lines, 1, len(lines), "python")
    assert spans == [(3, 5, "TABLE"), (8, 8, "X")]
    assert name_at(spans, 4, 6) == "TABLE"
    assert name_at(spans, 6, 7) == ""  # after the table closed: not part of it
    assert name_at(spans, 6, 8) == "X"


def test_a_table_is_found_by_its_name_and_values(tmp_path: Path):
    repo = write_tree(tmp_path / "repo", {
        "src/types.rs": f"//! File types.\n\npub const DEFAULT_TYPES: &[(&[&str], &[&str])] = &[\n{TABLE_ROWS}\n];\n",
        "src/other.rs": "pub fn lang120_helper() -> u32 {\n    120\n}\n",
    })
    with codesift.open_index(repo, index_dir=tmp_path / "idx", dense=False) as idx:
        idx.update()
        hits = idx.search("DEFAULT_TYPES ext140", k=2)
    assert hits[0].path == "src/types.rs" and hits[0].symbol == "DEFAULT_TYPES"
    assert hits[0].start_line <= 143 <= hits[0].end_line  # the window holding lang140


def test_files_first_reorders_within_the_hits():
    from codesift.model import ChunkRow
    from codesift.retrieve.search import files_first

    def row(i, path):
        return ChunkRow(i, path, "python", "function", f"f{i}", f"f{i}", None, 1, 2, False)

    kept = [(row(1, "a.py"), 0.9), (row(2, "a.py"), 0.8), (row(3, "a.py"), 0.7),
            (row(4, "b.py"), 0.6), (row(5, "a.py"), 0.5), (row(6, "c.py"), 0.4)]
    order = [r.id for r, _ in files_first(kept, 2)]
    assert order == [1, 4, 2, 3, 5, 6]  # best of a, best of b, then the rest in order
    assert [r.id for r, _ in files_first(kept, 5)] == [1, 4, 6, 2, 3, 5]
    assert files_first(kept, 0) == kept


def test_scope_places_are_matched_once_per_index_state(scoped_repo: Path, tmp_path: Path,
                                                       monkeypatch):
    from codesift.retrieve import scope

    calls = []
    real = scope.scope_globs
    monkeypatch.setattr(scope, "scope_globs", lambda *a, **kw: calls.append(a[0]) or real(*a, **kw))
    with codesift.open_index(scoped_repo, index_dir=tmp_path / "idx", dense=False) as idx:
        idx.update()
        for _ in range(3):
            idx.search("smtp: split a header line", k=3)
        assert calls == [("smtp",)]
        (scoped_repo / "netx/smtp/extra.py").write_text("def more():\n    return 3\n")
        idx.update()
        idx.search("smtp: split a header line", k=3)
    assert calls == [("smtp",), ("smtp",)]  # a new index state matches again
