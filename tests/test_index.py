"""Index and search a small real repository end to end (lexical + symbol; dense in
test_dense.py): incremental updates, filters, bad input, corrupt indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import codesift
from codesift.errors import (BadQueryError, CorruptIndexError, NoIndexError, PathError,
                             UsageError)


@pytest.fixture
def index(small_repo: Path):
    idx = codesift.open_index(small_repo, dense=False)
    idx.update()
    yield idx
    idx.close()


def top(hits, n=1):
    return [(h.path, h.symbol) for h in hits[:n]]


def test_a_pasted_100000_character_issue_is_answered(index):
    from conftest import long_issue
    issue = long_issue(100_000)
    hits = index.search(issue, k=5)
    assert top(hits) == [("pkg/session.py", "pkg.session.save_session")]  # the innermost frame
    assert "frames" in hits[0].sources
    context = index.context(issue, 800)
    assert context.tokens <= 800 and "def save_session(store, session):" in context.text
    with pytest.raises(BadQueryError, match="more than the 1,000,000 allowed") as refused:
        index.search("x" * 1_000_001)
    assert "max_query_chars" in refused.value.hint
    index.settings = index.settings.with_overrides(max_query_chars=2_000_000)
    assert index.search("x" * 1_000_001) == []  # the setting raises the cap


def test_identifier_query_puts_definition_first(index):
    hits = index.search("HttpClient.send", k=5)
    assert hits[0].path == "pkg/client.py"
    assert hits[0].symbol.endswith("HttpClient.send")
    assert hits[0].kind == "method"
    assert index.search("parse_header")[0].symbol.endswith("parse_header")


def test_go_receiver_identifier(index):
    hit = index.search("(*Server).Handle")[0]
    assert hit.path == "web/server.go" and hit.language == "go"
    assert "Handle" in hit.symbol


def test_the_definition_written_as_asked_comes_first(tmp_path: Path):
    # Exact-name keys ignore case; Go's exported Execute and unexported execute are two
    # definitions, and the one defined first used to win the tie either way.
    from conftest import write_tree
    root = write_tree(tmp_path / "repo", {"cmd/command.go": """
        package cmd

        type Command struct{}

        func (c *Command) execute(args []string) error {
            return nil
        }

        // Execute runs the command.
        func (c *Command) Execute() error {
            return c.execute(nil)
        }
    """})
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
        assert idx.search("(*Command).Execute")[0].symbol.endswith("(*Command).Execute")
        assert idx.search("(*Command).execute")[0].symbol.endswith("(*Command).execute")
        assert idx.search("Command.Execute")[0].symbol.endswith("(*Command).Execute")


def test_natural_language_finds_the_function(index):
    hits = index.search("persist session cookies", k=3)
    assert hits[0].symbol.endswith("save_session")


def test_hits_have_lines_and_snippets(index):
    hit = index.search("parse_header")[0]
    text = (index.root / hit.path).read_text().splitlines()
    assert text[hit.start_line - 1].startswith("def parse_header")
    assert 1 <= hit.start_line <= hit.end_line <= len(text)
    assert "def parse_header" in hit.snippet


def test_tests_are_marked_and_ranked_below_code(index):
    hits = index.search("parse header line name value", k=10)
    marked = {h.path: h.is_test for h in hits}
    assert marked.get("tests/test_client.py") is True
    assert hits[0].path == "pkg/client.py"
    about_tests = index.search("test for parse header", k=3)
    assert about_tests[0].path == "tests/test_client.py"


def test_no_crowding_by_class_skeleton(index):
    hits = index.search("HttpClient retries send", k=10)
    places = [(h.path, h.start_line, h.end_line) for h in hits]
    assert len(places) == len(set(places))
    containers = [h for h in hits if h.kind == "class"]
    members = [h for h in hits if h.kind == "method"]
    for c in containers:
        assert not any(c.start_line <= m.start_line <= m.end_line <= c.end_line for m in members)


def test_filters(index):
    assert all(h.language == "go" for h in index.search("handle request", languages=("go",)))
    assert all(h.path.startswith("pkg/") for h in index.search("session", path="pkg/"))
    assert all(h.kind == "function" for h in index.search("session", kinds=("function",)))
    assert not any(h.is_test for h in index.search("parse header", exclude_tests=True))


def test_files_mode_aggregates(index):
    hits = index.search("session", files=True)
    assert len({h.path for h in hits}) == len(hits)
    assert hits[0].kind == "file" and hits[0].start_line == 1


def test_markdown_and_ignored_files(index):
    assert index.search("uploads retried exponential backoff", languages=("markdown",))
    assert not [h for h in index.search("should_not_be_indexed", k=20)
                if h.path.startswith("build/")]


def test_incremental_modify_add_delete(small_repo: Path, index):
    first = index.status()
    again = index.update()
    assert again.files_indexed == 0 and again.files_unchanged == first["files"]
    (small_repo / "pkg/session.py").write_text(
        "def purge_sessions(store):\n    '''Remove expired sessions.'''\n    store.clear()\n")
    (small_repo / "pkg/extra.py").write_text("def brand_new_helper():\n    return 42\n")
    (small_repo / "web/server.go").unlink()
    summary = index.update()
    assert (summary.files_indexed, summary.files_deleted) == (2, 1)
    assert index.search("purge_sessions")[0].symbol.endswith("purge_sessions")
    assert index.search("brand_new_helper")[0].path == "pkg/extra.py"
    assert not [h for h in index.search("save_session", k=20) if "save_session" in h.symbol]
    assert not [h for h in index.search("Server Handle", k=20) if h.path == "web/server.go"]
    assert index.check() == []


def test_bad_encoding_is_indexed_not_fatal(small_repo: Path):
    (small_repo / "pkg/latin.py").write_bytes(b"def caf\xe9_menu():\n    return 'cr\xe8me'\n")
    with codesift.open_index(small_repo, dense=False) as idx:
        summary = idx.update()
        assert any(p == "pkg/latin.py" for p, _ in summary.encoding_warnings)
        assert any(h.path == "pkg/latin.py" for h in idx.search("menu", k=20))


@pytest.mark.parametrize("k", [0, -1])
def test_bad_k(index, k):
    with pytest.raises(UsageError):
        index.search("x", k=k)


@pytest.mark.parametrize("query", ['"', "*", "(", "NEAR", "AND", 'a" OR NOT (b*', "NEAR(x y, 2)"])
def test_fts_syntax_queries_are_handled(index, query):
    index.search(query)  # no exception, whatever the results


def test_empty_and_huge_queries(index):
    with pytest.raises(BadQueryError):
        index.search("   ")
    with pytest.raises(BadQueryError):
        index.search("word " * 200_001)  # past the library's 1,000,000 characters


def test_missing_path_and_file_path(tmp_path: Path):
    with pytest.raises(PathError):
        codesift.open_index(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(PathError):
        codesift.open_index(tmp_path / "f.txt")


def test_search_before_index(small_repo: Path):
    with pytest.raises(NoIndexError):
        codesift.open_index(small_repo).search("x")


def test_corrupt_and_foreign_index(small_repo: Path, tmp_path: Path):
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "index.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorruptIndexError):
        codesift.open_index(small_repo, index_dir=str(garbage)).search("x")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    db = sqlite3.connect(foreign / "index.db")
    db.execute("CREATE TABLE people (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(CorruptIndexError, match="not a codesift index"):
        codesift.open_index(small_repo, index_dir=str(foreign)).search("x")
    # Nothing was written into the foreign database.
    tables = sqlite3.connect(foreign / "index.db").execute(
        "SELECT name FROM sqlite_master").fetchall()
    assert tables == [("people",)]


def test_index_dir_elsewhere_and_gitignore(small_repo: Path, tmp_path: Path):
    with codesift.open_index(small_repo, index_dir=str(tmp_path / "idx"), dense=False) as idx:
        idx.update()
        assert (tmp_path / "idx" / "index.db").exists()
    assert not (small_repo / ".codesift").exists()
    with codesift.open_index(small_repo, dense=False) as idx:
        idx.update()
    assert (small_repo / ".codesift" / ".gitignore").read_text().strip().endswith("*")


def test_rebuild_swaps_in_a_fresh_index(index):
    before = index.status()
    summary = index.update(rebuild=True)
    assert summary.files_indexed == before["files"]
    assert index.status()["chunks"] == before["chunks"]
    assert index.search("parse_header")[0].symbol.endswith("parse_header")


def test_pasted_traceback_finds_the_frames_functions(index):
    trace = ('Traceback (most recent call last):\n'
             '  File "/srv/app/pkg/session.py", line 6, in save_session\n'
             '    store.write(session.id, session.cookies)\n'
             '  File "/srv/app/pkg/client.py", line 18, in send\n'
             '    return self._transport(request)\n'
             'ConnectionError: gave up')
    hits = index.search(trace, k=5)
    assert hits[0].symbol.endswith("HttpClient.send")  # the innermost frame first
    assert any(h.symbol.endswith("save_session") for h in hits[:3])
    assert "frames" in hits[0].sources


def test_a_trace_from_another_version_finds_the_named_functions(index):
    # Lines moved since the trace was printed: line 30 of client.py is in parse_header
    # now, and session.py has no line 60; the frames' function names still lead home.
    trace = ('Traceback (most recent call last):\n'
             '  File "/srv/app/pkg/session.py", line 60, in save_session\n'
             '    store.write(session.id, session.cookies)\n'
             '  File "/srv/app/pkg/client.py", line 30, in send\n'
             '    return self._transport(request)\n'
             'ConnectionError: gave up')
    hits = index.search(trace, k=5)
    assert hits[0].symbol.endswith("HttpClient.send") and "frames" in hits[0].sources
    assert hits[1].symbol.endswith("save_session") and "frames" in hits[1].sources
    # Without a name to go by, the line decides, as before.
    hits = index.search('  File "/srv/app/pkg/client.py", line 30, in <module>\n', k=1)
    assert hits[0].symbol.endswith("parse_header")


def test_go_panic_finds_the_named_method_though_lines_moved(tmp_path: Path):
    from conftest import write_tree
    root = write_tree(tmp_path / "repo", {"cmd/command.go": """
        package cmd

        type Command struct{ name string }

        func (c *Command) Name() string {
            return c.name
        }

        func (c *Command) Find(args []string) (*Command, error) {
            return c, nil
        }
    """})
    panic = ("panic: runtime error: invalid memory address or nil pointer dereference\n"
             "goroutine 1 [running]:\n"
             "example.com/x/cmd.(*Command).Find(0x0, {0xc000012345, 0x1, 0x1})\n"
             "\t/home/u/go/pkg/mod/example.com/x@v1.0.0/cmd/command.go:6 +0x45\n")
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
        hit = idx.search(panic, k=1)[0]
    assert hit.symbol.endswith("(*Command).Find") and "frames" in hit.sources


def test_a_pasted_error_message_finds_where_it_is_raised(tmp_path: Path):
    from conftest import write_tree
    root = write_tree(tmp_path / "repo", {"headers.py": """
        class ParseError(Exception):
            \"\"\"Raised when a header is malformed or its value is missing.\"\"\"


        def check_header(header):
            \"\"\"A header whose value is missing, or malformed, is a ParseError.\"\"\"
            if header.value is None:
                raise ParseError("malformed header")


        def parse_value(text):
            if not text:
                raise ParseError("header value is missing")
            return text.strip()
    """})
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
        hits = idx.search("headers.ParseError: header value is missing", k=3)
    assert hits[0].symbol.endswith("parse_value") and "messages" in hits[0].sources
    assert any(h.symbol.endswith("ParseError") for h in hits)


def test_a_two_token_message_counts_only_when_rare(tmp_path: Path):
    from conftest import write_tree
    common = "".join(f"\ndef check_{i}(v):\n    if v is None:\n        raise ValueError('not set')\n"
                     for i in range(25))
    root = write_tree(tmp_path / "repo", {"checks.py": common, "flags.py": """
        def add_flag(flags, name):
            if name in flags:
                raise ValueError(name + ": flag redefined")
            flags.add(name)
    """})
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
        rare = idx.search("panic: flag redefined: verbose", k=3)
        commonplace = idx.search("ValueError: not set", k=3)
    assert rare[0].symbol.endswith("add_flag") and "messages" in rare[0].sources
    assert not any("messages" in h.sources for h in commonplace)  # in 25 chunks: no signal


def test_long_bug_report_uses_its_identifiers(index):
    report = ("When I upload a large file over a flaky connection the whole thing just hangs "
              "for a very long time and then fails with an error message that is not very "
              "helpful to the user. I think the problem is in how the retry loop works, the "
              "waiting grows too fast. It would be nice to have a maximum. " * 3
              + "The code in question is `parse_header` which is called for every response.")
    hits = index.search(report, k=3)
    assert any(h.symbol.endswith("parse_header") for h in hits)


def test_searches_never_see_rows_of_an_older_index_state(small_repo: Path, index):
    # Chunk rows are kept between searches while the content stays the same: an update,
    # by this Index or by another process's, must show the moved definition at once.
    path = small_repo / "pkg/session.py"
    text = path.read_text()
    path.write_text("# moved down\n" * 7 + text)
    index.update()
    hit = next(h for h in index.search("save_session") if h.symbol.endswith("save_session"))
    other = codesift.open_index(small_repo, dense=False)
    try:
        path.write_text("# moved further\n" * 30 + text)
        other.update()
    finally:
        other.close()
    moved = next(h for h in index.search("save_session") if h.symbol.endswith("save_session"))
    assert moved.start_line == hit.start_line + 30 - 7


class RecordingEmbedder:
    """An Embedder that keeps what it was given (vectors from the text's hash)."""

    id, dim = "recording:1", 8

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed_documents(self, texts, progress=None):
        import hashlib

        import numpy as np
        self.seen += texts
        rows = np.array([[b - 128.0 for b in hashlib.sha256(t.encode()).digest()[:8]] for t in texts],
                        dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def test_prose_is_embedded_by_its_head_and_code_whole(tmp_path: Path):
    from codesift.indexer import PROSE_EMBED_CHARS, dense_input, run_index
    from codesift.store.sqlite import SQLiteStore

    repo = tmp_path / "repo"
    repo.mkdir()
    para = "This paragraph explains how the option parser reads environment variables.\n"
    (repo / "guide.md").write_text("# Options\n\n" + para * 40)
    body = "".join(f"    total += {i}  # step {i} of the long computation\n" for i in range(40))
    (repo / "calc.py").write_text("def long_sum():\n    total = 0\n" + body + "    return total\n")
    store = SQLiteStore(tmp_path / "index.db", create=True)
    emb = RecordingEmbedder()
    run_index(repo, store, embedder=emb)
    prose = [t for t in emb.seen if "paragraph explains" in t]
    code = [t for t in emb.seen if "long computation" in t]
    assert prose and all(len(t) <= PROSE_EMBED_CHARS and t.endswith("variables.") for t in prose)
    assert code and max(len(t) for t in code) > PROSE_EMBED_CHARS  # code keeps its window
    assert dense_input("short note", "markdown") == "short note"
    store.close()


def test_terms_in_half_the_chunks_or_more_are_not_matched(tmp_path: Path):
    # FTS5's bm25 gives such a term an IDF of 1e-6: dropping it leaves every other chunk's
    # order as it was and only stops matching the chunks that have nothing but it.
    for i in range(6):
        body = "retry the upload with backoff" if i < 2 else "render the page"
        (tmp_path / f"acme_{i}.py").write_text(
            f'"""acme module {i}."""\n\n\ndef acme_step_{i}(acme):\n    """{body}, acme."""\n'
            f"    return acme\n")
    idx = codesift.open_index(tmp_path, dense=False)
    try:
        idx.update()
        store = idx.store()
        with store.snapshot():
            assert store.informative_terms(["acme", "retry", "backoff"]) == ["retry", "backoff"]
            assert store.informative_terms(["acme"]) == ["acme"]
            assert store.informative_terms(["acme", "module"]) == ["acme", "module"]
            everything = store.lexical_chunks(["acme", "retry", "backoff"], 100)
            informative = store.lexical_chunks(["retry", "backoff"], 100)
        assert len(everything) > len(informative) == 2
        assert [cid for cid, _ in everything[:2]] == [cid for cid, _ in informative]
        best = idx.search("acme retry backoff", k=2)
        assert {h.symbol.rsplit(".", 1)[-1] for h in best} == {"acme_step_0", "acme_step_1"}
    finally:
        idx.close()


def test_an_index_from_before_the_rows_index_is_migrated_on_open(small_repo: Path):
    # An index written before migration 7: the covering index over the columns a search
    # reads is built when it is next opened, and searches read rows through it.
    with codesift.open_index(small_repo, dense=False) as idx:
        idx.update()
        expected = idx.search("parse_header", k=5)
        db_path = idx.store().path
    db = sqlite3.connect(db_path)
    db.execute("DROP INDEX chunks_rows")
    db.execute("ALTER TABLE files DROP COLUMN kind")  # migration 8's, as before it
    db.execute("PRAGMA user_version = 6")
    db.commit()
    db.close()
    with codesift.open_index(small_repo, dense=False) as idx:
        assert idx.search("parse_header", k=5) == expected
        plan = idx.store().db.execute(
            "EXPLAIN QUERY PLAN SELECT c.id, c.path FROM chunks c INDEXED BY chunks_rows"
            " WHERE c.id IN (1, 2)").fetchall()
    assert "COVERING INDEX chunks_rows" in plan[0][-1]
    from codesift.store.migrations import MIGRATIONS
    assert sqlite3.connect(db_path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
