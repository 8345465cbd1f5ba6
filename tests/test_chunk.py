"""Chunking with the real tree-sitter parser: skeletons, module headers, long-definition
splits, fallback splitters, and the no-line-left-behind coverage property on the stdlib."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from codesift.ingest.chunk import CHUNKER_VERSION, chunk_file
from codesift.ingest.discover import read_text
from codesift.ingest.languages import DEEP_LANGUAGES, language_for_path
from codesift.ingest.parse import parse_source
from codesift.ingest.split import MAX_EMBED_CHARS, split_lines, title_words
from codesift.model import Chunk, ParsedFile, SourceFile, Symbol

STDLIB = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")


def chunks_of(path: str, text: str, language: str | None = None, **kwargs) -> list[Chunk]:
    language = language or language_for_path(path)
    source = SourceFile(path, "/repo/" + path, language, len(text))
    parsed = parse_source(path, text, language) if language in DEEP_LANGUAGES else None
    return chunk_file(source, text, parsed, is_test=kwargs.pop("is_test", False), **kwargs)


def by_symbol(chunks: list[Chunk]) -> dict[str, Chunk]:
    return {c.symbol: c for c in chunks}


def assert_covered(text: str, chunks: list[Chunk]) -> None:
    covered = set()
    for c in chunks:
        covered.update(range(c.start_line, c.end_line + 1))
    missing = [i for i, line in enumerate(split_lines(text), 1) if line.strip() and i not in covered]
    assert not missing, f"lines outside every chunk: {missing[:10]}"


PY_MODULE = textwrap.dedent('''\
    """Client for the upload service."""
    import os
    from typing import Any

    RETRIES = 3


    class HttpClient(Base):
        """Talks HTTP."""

        timeout: float = 3.0

        @property
        def host(self) -> str:
            """The host."""
            return self._host

        def send(self, data: bytes,
                 retries: int = RETRIES) -> int:
            def attempt():
                return 1
            return attempt()


    def main():
        HttpClient().send(b"")


    if __name__ == "__main__":
        main()
''')


def test_python_class_becomes_skeleton_plus_members() -> None:
    chunks = chunks_of("pkg/client.py", PY_MODULE)
    syms = by_symbol(chunks)
    skeleton = syms["pkg.client.HttpClient"]
    assert skeleton.kind == "class" and (skeleton.start_line, skeleton.end_line) == (8, 22)
    assert "timeout: float = 3.0" in skeleton.context_text
    assert "def send(self, data: bytes,\n             retries: int = RETRIES) -> int:" in skeleton.context_text
    assert "return self._host" not in skeleton.context_text
    assert "..." in skeleton.context_text
    send = syms["pkg.client.HttpClient.send"]
    assert (send.kind, send.name, send.parent) == ("method", "send", "pkg.client.HttpClient")
    assert "def attempt():" in send.context_text  # the outer function keeps its full text
    inner = syms["pkg.client.HttpClient.send.attempt"]
    assert inner.context_text.strip() == "def attempt():\n            return 1"
    host = syms["pkg.client.HttpClient.host"]
    assert host.context_text.lstrip().startswith("@property")
    assert host.embedding_text.startswith("HttpClient.host — http client host") or \
        host.embedding_text.startswith("HttpClient host — http client host")
    assert "pkg/client.py" in host.embedding_text and "The host." in host.embedding_text


def test_module_header_and_leftover_blocks() -> None:
    chunks = chunks_of("pkg/client.py", PY_MODULE)
    header = chunks[0]
    assert (header.kind, header.symbol, header.start_line, header.end_line) == ("module", "pkg.client", 1, 5)
    assert "import os" in header.context_text and "RETRIES = 3" in header.context_text
    block = chunks[-1]
    assert block.kind == "block" and block.context_text.startswith('if __name__ == "__main__":')
    assert_covered(PY_MODULE, chunks)
    for c in chunks:
        lines = split_lines(PY_MODULE)[c.start_line - 1:c.end_line]
        if c.kind != "class":
            assert c.context_text == "\n".join(lines)


def long_function(n_statements: int) -> str:
    body = []
    for i in range(n_statements):
        body += [f"    value_{i} = compute({i})", f"    if value_{i}:", f"        total += value_{i}", ""]
    return "def crunch(data, *, total=0):\n    \"\"\"Crunch numbers.\"\"\"\n" + "\n".join(body) + "    return total\n"


def test_long_definition_is_split_with_repeated_signature() -> None:
    text = "import math\n\n\n" + long_function(60)  # ~245 lines
    chunks = chunks_of("crunch.py", text)
    parts = [c for c in chunks if c.kind == "function"]
    assert len(parts) >= 3
    assert all(c.kind == "function" and c.name == "crunch" for c in parts)
    assert all(c.end_line - c.start_line + 1 <= 80 for c in parts)
    assert parts[0].context_text.startswith("def crunch(data, *, total=0):")
    for prev, part in zip(parts, parts[1:]):
        assert part.start_line > prev.end_line
        assert part.context_text.startswith("def crunch(data, *, total=0):\n    ...\n")
        first_line = split_lines(text)[part.start_line - 1]
        assert first_line.startswith("    value_")  # cut at a statement at the body's indent
    assert_covered(text, chunks)
    unsplit = chunks_of("crunch.py", text, max_definition_lines=400)
    assert len([c for c in unsplit if c.kind == "function"]) == 1


def test_embedding_text_is_bounded() -> None:
    text = long_function(60).replace("compute", "compute_" + "x" * 200)
    for c in chunks_of("crunch.py", text):
        assert len(c.embedding_text) <= MAX_EMBED_CHARS
    assert title_words("HttpClient.send") == "HttpClient send — http client send"
    assert title_words("parse_config") == "parse_config — parse config"


def test_parse_error_and_non_deep_files_use_windows() -> None:
    text = "\n".join(f"echo line {i}" + ("\n" if i % 20 == 0 else "") for i in range(130)) + "\n"
    source = SourceFile("run.sh", "/repo/run.sh", "shell", len(text))
    chunks = chunk_file(source, text, None, is_test=True)
    assert all(c.kind == "block" and c.is_test for c in chunks)
    assert all(c.end_line - c.start_line + 1 <= 50 for c in chunks)
    assert_covered(text, chunks)
    broken = ParsedFile("x.py", "python", error="boom")
    chunks = chunk_file(SourceFile("x.py", "/x.py", "python", 3), "x = (\n", broken, is_test=False)
    assert [(c.kind, c.start_line, c.end_line) for c in chunks] == [("block", 1, 1)]


def test_markdown_sections_by_heading() -> None:
    text = textwrap.dedent("""\
        Intro paragraph.

        # Project

        What it is.

        ## Install

        ### From source

        Run make.

        ```sh
        # not a heading
        make install
        ```

        ## Usage
        Run it.
    """)
    chunks = chunks_of("README.md", text)
    assert [(c.kind, c.symbol) for c in chunks] == [
        ("section", ""), ("section", "Project"),
        ("section", "Project > Install > From source"), ("section", "Project > Usage"),
    ]
    source_section = chunks[2]
    assert source_section.context_text.startswith("## Install")  # empty parent merged forward
    assert "make install" in source_section.context_text
    assert_covered(text, chunks)


def test_long_markdown_section_is_split() -> None:
    text = "# Big\n\n" + "\n\n".join(f"Paragraph {i} line a.\nline b." for i in range(60)) + "\n"
    chunks = chunks_of("doc.md", text)
    assert len(chunks) > 2 and all(c.symbol == "Big" for c in chunks)
    assert_covered(text, chunks)


def test_rst_and_sql_and_config() -> None:
    rst = "=====\nTitle\n=====\n\nIntro.\n\nInstall\n-------\n\nText.\n"
    assert [c.symbol for c in chunks_of("doc.rst", rst)] == ["Title", "Title > Install"]
    sql = ("-- people\nCREATE TABLE IF NOT EXISTS app.users (\n  id int,\n  name text\n);\n\n"
           "INSERT INTO app.users VALUES (1, 'a');\n\n"
           "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n")
    chunks = chunks_of("schema.sql", sql)
    assert [(c.kind, c.symbol, c.name) for c in chunks] == [
        ("table", "app.users", "users"), ("block", "", ""), ("function", "f", "f")]
    assert chunks[0].start_line == 1  # the leading comment belongs to the table
    toml = "[project]\nname = 'a'\n\n" + "".join(f"[tool.t{i}]\n" + "k = 1\n" * 30 + "\n" for i in range(3))
    chunks = chunks_of("pyproject.toml", toml)
    assert chunks[0].symbol.startswith("project")
    assert_covered(toml, chunks)


def test_chunks_without_content_are_dropped() -> None:
    source = SourceFile("blank.txt", "/blank.txt", "text", 4)
    assert chunk_file(source, "\n \n\t\n", None, is_test=False) == []
    assert CHUNKER_VERSION


def test_symbols_out_of_range_or_duplicated_do_not_break_chunking() -> None:
    text = "def f():\n    return 1\n"
    sym = Symbol("f", "f", "function", "def f():", "", 1, 2, None, 2)
    parsed = ParsedFile("a.py", "python", (sym, sym, Symbol("g", "g", "function", "", "", 5, 9)))
    chunks = chunk_file(SourceFile("a.py", "/a.py", "python", len(text)), text, parsed, is_test=False)
    assert [(c.symbol, c.start_line, c.end_line) for c in chunks] == [("f", 1, 2)]


def stdlib_sample() -> list[Path]:
    files = sorted(STDLIB.glob("*.py")) + sorted(STDLIB.glob("*/*.py"))
    step = max(1, len(files) // 50)
    return files[::step][:50] + [STDLIB / "argparse.py", STDLIB / "LICENSE.txt"]


@pytest.mark.skipif(not STDLIB.is_dir(), reason="needs the CPython stdlib")
def test_every_line_of_stdlib_files_is_in_some_chunk() -> None:
    for path in stdlib_sample():
        text, _ = read_text(str(path))
        rel = str(path.relative_to(STDLIB))
        chunks = chunks_of(rel, text)
        assert chunks, rel
        assert_covered(text, chunks)
        n = len(split_lines(text))
        for c in chunks:
            assert 1 <= c.start_line <= c.end_line <= n, (rel, c.symbol)
            assert c.context_text.strip() and len(c.embedding_text) <= MAX_EMBED_CHARS
            if c.kind not in ("class", "module", "section", "block"):
                assert c.end_line - c.start_line + 1 <= 120, (rel, c.symbol)


def test_rust_inline_tests_are_test_code():
    text = textwrap.dedent('''\
        pub fn add(a: i32, b: i32) -> i32 {
            a + b
        }

        #[tokio::test]
        async fn adds_async() {
            assert_eq!(add(1, 1), 2);
        }

        #[cfg(test)]
        mod tests {
            use super::*;

            #[test]
            fn adds() {
                assert_eq!(add(2, 2), 4);
            }
        }
    ''')
    chunks = chunks_of("src/lib.rs", text)
    flags = {c.symbol: c.is_test for c in chunks if c.symbol}
    assert flags["add"] is False
    assert flags["adds_async"] is True
    assert flags["tests::adds"] is True
    assert all(c.is_test for c in chunks if c.start_line >= 10)
    assert not any(c.is_test for c in chunks_of("src/lib.py", "def add(a, b):\n    return a + b\n"))
