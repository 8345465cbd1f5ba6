"""Big trees stay bounded: a generated C tree (headers including headers, functions called
across files, as in Linux) resolved with every shortcut against the full include walk, no
resolver outliving its pass, and embedding reading texts a window at a time. Small enough
for CI; the 10M-line runs are in bench/bench_scale.py."""

from __future__ import annotations

import gc
import sqlite3
from pathlib import Path

import pytest

import codesift
from codesift import indexer
from codesift.graph import build
from codesift.graph.includes import IncludeGraph
from codesift.graph.resolve import Resolver
from codesift.store.sqlite import SQLiteStore

N_HEADERS = 40
N_SOURCES = 160


def _c_tree(root: Path) -> Path:
    """Headers in a chain of includes (each includes the next two), static inline helpers in
    some, and .c files that include a header and call functions defined in other .c files,
    in headers several includes away, and macros that nothing defines."""
    inc = root / "include" / "gen"
    inc.mkdir(parents=True)
    for h in range(N_HEADERS):
        nxt = "".join(f'#include <gen/h{j}.h>\n' for j in (h + 1, h + 2) if j < N_HEADERS)
        inline = f"static inline int helper_{h}(int x) {{ return x + {h}; }}\n" if h % 3 == 0 else ""
        (inc / f"h{h}.h").write_text(f"#ifndef H{h}\n#define H{h}\n{nxt}{inline}"
                                     f"int api_{h}(int x);\n#endif\n")
    src = root / "drivers"
    src.mkdir()
    for s in range(N_SOURCES):
        h = s % N_HEADERS
        far = min(N_HEADERS - 1, h + 3 - (h + 3) % 3)  # a helper a few includes down
        # Helpers at the walk's depth limit (6 includes below h: h + 12) and past it.
        edge = min(N_HEADERS - 1, h + 12 - (h + 12) % 3)
        beyond = min(N_HEADERS - 1, h + 13 + (3 - (h + 13) % 3) % 3)
        (src / f"d{s}.c").write_text(
            f"#include <gen/h{h}.h>\n\n"
            f"int api_{h}(int x)\n{{\n\treturn x * {s};\n}}\n\n"
            f"int driver_{s}_probe(int x)\n{{\n"
            f"\tint y = helper_{far}(x) + api_{(h + 1) % N_HEADERS}(x);\n"
            f"\ty += helper_{edge}(y) + helper_{beyond}(y);\n"
            f"\tUNDEFINED_MACRO_{s % 7}(y);\n"
            f"\treturn driver_{(s + 1) % N_SOURCES}_probe(y) + kmalloc_like(y);\n}}\n")
    return root


def _edges(db_path: Path) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT f.path, e.src, e.kind, e.name, e.dst_path, e.dst, e.confidence,"
                          " e.line FROM edges e JOIN files f ON f.id = e.src_file"
                          " ORDER BY 1, 2, 3, 4, 5, 6, 8").fetchall()
    finally:
        db.close()


def _full_pass(root: Path) -> list[tuple]:
    store = SQLiteStore(root / ".codesift" / "index.db")
    try:
        with store.transaction():
            store.set_meta("graph_version", "stale")
        build.update_graph(store, [], [])
    finally:
        store.close()
    return _edges(root / ".codesift" / "index.db")


def test_include_shortcuts_resolve_exactly_what_the_full_walk_does(tmp_path, monkeypatch):
    root = _c_tree(tmp_path / "tree")
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
        fast = _edges(idx.db_path)
    # Without the pass's include graph (as for an edit's few files): each file's forward
    # reach decides whether to walk.
    monkeypatch.setattr(build, "_include_graph", lambda tables, table: None)
    assert _full_pass(root) == fast
    # Every name walked through every include, as before the shortcuts.
    monkeypatch.setattr(Resolver, "_maybe_included", lambda self, path, name: True)
    assert _full_pass(root) == fast
    calls = {(p, name): (dst_path, conf) for p, _, kind, name, dst_path, _, conf, _ in fast
             if kind == "calls" and p == "drivers/d0.c"}
    # A helper defined two includes down is certain; a function defined in other .c files
    # (no include reaches them) is a guess among them; a macro nothing defines, unresolved.
    assert calls["drivers/d0.c", "helper_3"] == ("include/gen/h3.h", 1.0)
    assert calls["drivers/d0.c", "api_1"][1] < 1.0
    assert calls["drivers/d0.c", "UNDEFINED_MACRO_0"] == (None, 0.0)
    # At the depth limit the walk still finds the helper; one include further it does not,
    # and the name alone (one definition) is less sure.
    assert calls["drivers/d0.c", "helper_12"] == ("include/gen/h12.h", 1.0)
    assert calls["drivers/d0.c", "helper_15"][0] == "include/gen/h15.h"
    assert calls["drivers/d0.c", "helper_15"][1] < 1.0


def test_no_resolver_outlives_its_graph_pass(tmp_path, monkeypatch):
    """functools.lru_cache on a method is the class's: it kept every Resolver (and all it
    had found) for the life of a server or a watcher. The pass's include graph goes too."""
    monkeypatch.setattr(build, "BATCH", 16)  # several resolvers in one pass
    root = _c_tree(tmp_path / "tree")
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
        assert idx.graph().find("driver_0_probe")
    gc.collect()
    # type(), not isinstance(): that reads __class__, and a torch module object warns then.
    assert not [o for o in gc.get_objects() if type(o) in (Resolver, IncludeGraph)]


def test_a_full_pass_reads_references_a_batch_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "BATCH", 16)
    asked: list[int] = []
    original = build.GraphTables.refs_in

    def counted(self, paths):
        asked.append(len(paths))
        return original(self, paths)
    monkeypatch.setattr(build.GraphTables, "refs_in", counted)
    root = _c_tree(tmp_path / "tree")
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
    assert sum(asked) == N_HEADERS + N_SOURCES and max(asked) <= 16


@pytest.mark.parametrize("window", [7])
def test_embedding_reads_texts_a_window_at_a_time(tmp_path, monkeypatch, window):
    monkeypatch.setattr(indexer, "EMBED_WINDOW", window)
    read: list[int] = []
    original = SQLiteStore.embedding_texts

    def counted(self, hashes):
        read.append(len(hashes))
        return original(self, hashes)
    monkeypatch.setattr(SQLiteStore, "embedding_texts", counted)
    root = _c_tree(tmp_path / "tree")
    for s in range(N_SOURCES, N_SOURCES + 20):  # a few more files: more windows
        (root / "drivers" / f"d{s}.c").write_text(f"int extra_{s}(void) {{ return {s}; }}\n")
    with codesift.open_index(root) as idx:
        summary = idx.update()
        status = idx.status()
    assert max(read) <= window and sum(read) == summary.vectors_embedded > window
    assert status["chunks_without_vector"] == 0
