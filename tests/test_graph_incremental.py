"""The graph follows edits without a full pass: which files an update re-resolves, and
that the on-demand symbol table answers exactly as the in-memory one does."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from conftest import STDLIB, write_tree

import codesift
from codesift.graph.resolve import Resolver
from codesift.graph.symtab import SymbolTable
from codesift.graph.symtab_lazy import LazySymbolTable
from codesift.store.sqlite_graph import GraphTables

FILES = {
    "app/core.py": '''
        def helper():
            return 1


        def other():
            return 2
    ''',
    "app/user_a.py": '''
        from .core import helper


        def a():
            return helper()
    ''',
    "app/user_b.py": '''
        def b():
            return missing_fn()
    ''',
    "app/unrelated.py": '''
        def c():
            return len([])
    ''',
}


def update(root: Path, tmp: Path, *names: str):
    with codesift.open_index(root, index_dir=tmp / "idx", dense=False) as idx:
        summary = idx.update()
        graph = idx.graph()
        callers = {n: [h.node.symbol for h in graph.callers(graph.find(n))] for n in names}
    return summary.graph, callers


def test_edits_re_resolve_only_what_they_can_change(tmp_path: Path):
    root = write_tree(tmp_path / "repo", FILES)
    graph, callers = update(root, tmp_path, "helper")
    assert graph.full and callers["helper"] == ["app.user_a.a"]

    # A body edit: only the edited file is resolved again.
    core = root / "app/core.py"
    core.write_text(core.read_text() + "\n\ndef third():\n    return helper()\n")
    graph, callers = update(root, tmp_path, "helper")
    assert not graph.full and graph.files_resolved == 1
    assert sorted(callers["helper"]) == ["app.core.third", "app.user_a.a"]

    # A new definition of a name another file calls but could not resolve: that file too.
    (root / "app/extra.py").write_text("def missing_fn():\n    return 3\n")
    graph, _ = update(root, tmp_path)
    assert graph.files_resolved == 2  # extra.py and user_b.py, not unrelated.py

    # Removing a definition re-resolves the files whose edges pointed at it.
    core.write_text("def other():\n    return 2\n")
    graph, _ = update(root, tmp_path)
    assert graph.files_resolved == 2  # core.py and user_a.py
    with codesift.open_index(root, index_dir=tmp_path / "idx", dense=False) as idx:
        with pytest.raises(codesift.CodesiftError):
            idx.graph().find("helper")
        edges = GraphTables(idx.store().db).counts()
        assert edges.get("unresolved_calls", 0) >= 2  # helper() in user_a, len() in c


@pytest.mark.skipif(not (STDLIB / "json").is_dir(), reason="the CPython stdlib is not on disk")
def test_on_demand_table_matches_in_memory_table(tmp_path: Path):
    root = tmp_path / "std"
    for name in ("json", "http", "email"):
        shutil.copytree(STDLIB / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    with codesift.open_index(root, index_dir=tmp_path / "idx", dense=False) as idx:
        idx.update()
        tables = GraphTables(idx.store().db)
        languages = tables.languages()
        full = SymbolTable(tables.defs(), languages)
        paths = random.Random(7).sample(sorted(languages), 25)
        for path in paths:
            eager = Resolver(full, tables.refs_of).resolve_file(path)
            lazy = Resolver(LazySymbolTable(tables, languages), tables.refs_of).resolve_file(path)
            assert sorted(map(repr, lazy)) == sorted(map(repr, eager)), path


def test_a_newer_parser_re_parses_every_file_in_place(tmp_path: Path):
    root = write_tree(tmp_path / "repo", FILES)
    update(root, tmp_path)
    with codesift.open_index(root, index_dir=tmp_path / "idx", dense=False) as idx:
        store = idx.store()
        with store.transaction():
            store.set_meta("parser_version", "0")  # as written by an older codesift
            store.db.execute("DELETE FROM refs")  # ... which recorded less
        uuid = store.get_meta("index_uuid")
        summary = idx.update()
        assert summary.files_indexed == len(FILES) and summary.files_deleted == 0
        assert store.get_meta("index_uuid") == uuid, "in place, not a rebuild"
        assert idx.graph().callers(idx.graph().find("helper"))
        assert idx.update().files_indexed == 0


def test_an_interrupted_graph_pass_is_redone_whole(tmp_path: Path, monkeypatch):
    root = write_tree(tmp_path / "repo", FILES)
    update(root, tmp_path)
    (root / "app/core.py").write_text("def helper():\n    return other()\n\n\ndef other():\n    return 2\n")
    real = Resolver.resolve_file

    def dies_midway(self, path):
        raise KeyboardInterrupt  # as Ctrl-C once the full pass has emptied the table

    with codesift.open_index(root, index_dir=tmp_path / "idx", dense=False) as idx:
        idx.store().set_meta("graph_version", "0")  # force a full pass, then break it
        monkeypatch.setattr(Resolver, "resolve_file", dies_midway)
        with pytest.raises(KeyboardInterrupt):
            idx.update()
        monkeypatch.setattr(Resolver, "resolve_file", real)
        with pytest.raises(codesift.CodesiftError, match="out of date"):
            idx.graph()
        summary = idx.update()
        assert summary.graph.full
        graph = idx.graph()
        assert [h.node.symbol for h in graph.callers(graph.find("other"))] == ["app.core.helper"]
        indexes = {r[0] for r in idx.store().db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'edges'")}
        assert {"edges_dst", "edges_src", "edges_bare"} <= indexes
        assert idx.check() == []
