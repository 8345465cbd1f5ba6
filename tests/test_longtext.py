"""Long pasted text: what the condenser keeps (frames, errors, paths, identifiers, the
title), what it leaves out (repeats, dumps, progress), that its work grows linearly with the
text (counted, never timed), and that short queries are analysed exactly as written."""

from __future__ import annotations

import re
import sys

import pytest

from codesift.retrieve import longtext
from codesift.retrieve.longtext import CONDENSED_CHARS, LONG_TEXT_CHARS, condense
from codesift.retrieve.query import analyse

from conftest import long_issue

BURIED = ('Traceback (most recent call last):\n'
          '  File "/opt/svc/lib/billing/ledger.py", line 214, in post_entry\n'
          '    self._apply(entry)\n'
          'LedgerLockedError: ledger is locked by another writer\n'
          'The config in deploy/settings.toml sets `LedgerWriter.max_wait` to 0.\n')


def _log(chars: int) -> str:
    """Repeated log lines (their numbers differ) filling about `chars` characters."""
    lines, size, n = [], 0, 0
    while size < chars:
        n += 1
        line = f"[2024-05-01 10:00:{n % 60:02d}] DEBUG poll {n}: queue depth {n % 17}, idle\n"
        lines.append(line)
        size += len(line)
    return "".join(lines)


def test_signals_buried_after_50000_characters_of_log_are_kept():
    text = "Posting to the ledger hangs\n\n" + _log(50_000) + BURIED
    assert text.index("Traceback") > 50_000
    condensed = condense(text)
    kept = condensed.text
    assert 'File "/opt/svc/lib/billing/ledger.py", line 214, in post_entry' in kept
    assert "LedgerLockedError: ledger is locked by another writer" in kept
    assert "deploy/settings.toml" in kept and "LedgerWriter.max_wait" in kept
    assert len(kept) <= CONDENSED_CHARS and kept.count("DEBUG poll") <= 1
    reasons = {p.reason for p in condensed.parts}
    assert {"title", "frame", "error", "path"} <= reasons
    assert dict(condensed.left_out)["repeated"] > 500

    q = analyse(text)
    assert q.frames[0].path.endswith("billing/ledger.py") and q.frames[0].line == 214
    assert q.frames[0].function == "post_entry"
    assert "ledger is locked by another writer" in q.messages
    assert "deploy/settings.toml" in q.paths
    assert "LedgerWriter.max_wait" in q.identifiers and "post_entry" in q.identifiers
    assert q.condensed == condense(text.strip())


def test_dumps_progress_and_template_comments_are_left_out():
    text = "\n".join([
        "Export fails on large tables",
        "<!-- Please describe the bug. Include steps to reproduce. -->",
        "<!--", "Template instructions over several lines", "-->",
        "The exporter stops after the first million rows.",
        *[f"{i:08x}: 4f 2a 9c 11 00 ff {i % 7} 3e 5d" for i in range(300)],
        *[f"Downloading shards {i}/300 [{'=' * (i % 40):<40}] {i * 100 // 300}%"
          for i in range(300)],
        "x" * (LONG_TEXT_CHARS + 10),
        "    rows = exporter.write_batch(cursor, size=10_000)",
    ])
    condensed = condense(text)
    left = dict(condensed.left_out)
    assert left["template comment"] == 4
    # Lines that differ only in their numbers (or a bar's length) are one line repeated.
    assert left["output dump"] and left["progress"]
    assert left["output dump"] + left["progress"] + left["repeated"] == 600
    assert "Template instructions" not in condensed.text and "4f 2a" not in condensed.text
    assert "Downloading" not in condensed.text
    assert "exporter.write_batch" in condensed.text
    assert max(map(len, condensed.text.splitlines())) <= longtext.MAX_LINE_CHARS


def test_the_embedding_reads_the_title_and_first_prose_not_the_log():
    q = analyse(long_issue())
    assert q.embed_text.startswith("save_session loses cookies when the store times out\n"
                                   "Saving a session to a slow store drops its cookies")
    assert "flushed batch" not in q.embed_text and "Traceback" not in q.embed_text
    assert len(q.embed_text) <= longtext.HEAD_CHARS


def test_a_long_report_is_about_tests_only_when_its_reporter_says_so():
    pytest_log = "".join(f"tests/test_api.py::test_case_{i} PASSED [{i % 100:3d}%]\n"
                         for i in range(400))
    report = "Parser drops the last header\n\n```\n" + pytest_log + "```\n"
    assert not analyse(report).about_tests
    assert analyse("The parser test fails on Windows\n\n" + pytest_log).about_tests


def test_over_the_budget_the_first_and_last_frames_stay():
    frames = "".join(f'  File "/app/mod{i}.py", line {i + 1}, in f{i}\n' for i in range(400))
    text = "Deep recursion in the resolver\nTraceback (most recent call last):\n" + frames \
        + "RecursionError: maximum recursion depth exceeded\n"
    condensed = condense(text)
    assert len(condensed.text) <= CONDENSED_CHARS
    kept = condensed.text
    assert "mod0.py" in kept and "mod399.py" in kept and "mod200.py" not in kept
    assert "RecursionError: maximum recursion depth exceeded" in kept
    assert analyse(text).frames[0].path == "/app/mod399.py"  # innermost, as Python prints it
    assert any(reason.startswith("over budget") for reason, _ in condensed.left_out)


@pytest.mark.parametrize("text", [
    "parse_header", "how are failed uploads retried?",
    'Traceback (most recent call last):\n  File "a/b.py", line 3, in f\nValueError: bad "x"',
    "Fix `Console.print` when soft_wrap=True\n\n" + "The wrapped text lost its style. " * 55,
    "x" * (LONG_TEXT_CHARS - 2) + "\n ",
])
def test_short_queries_are_analysed_as_written(text):
    assert len(text.strip()) <= LONG_TEXT_CHARS
    q = analyse(text)
    assert q.condensed is None
    assert q.text == text.strip() and q.embed_text == q.text


def test_a_query_just_over_the_threshold_is_condensed():
    q = analyse("word " * (LONG_TEXT_CHARS // 5 + 1))
    assert q.condensed is not None and q.text == q.condensed.text


def _work(text: str) -> tuple[int, int]:
    """(Python and C calls made, characters handed to regular expressions) by condense."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    scanned = 0
    originals = {name: value for name, value in vars(longtext).items()
                 if isinstance(value, re.Pattern)}

    class Counted:
        def __init__(self, pattern):
            self.pattern = pattern

        def __getattr__(self, method):
            def counted(string, *args, **kwargs):
                nonlocal scanned
                scanned += len(string)
                return getattr(self.pattern, method)(string, *args, **kwargs)
            return counted if method in ("search", "match", "fullmatch") else \
                getattr(self.pattern, method)

        def sub(self, repl, string, *args, **kwargs):
            nonlocal scanned
            scanned += len(string)
            return self.pattern.sub(repl, string, *args, **kwargs)

    try:
        for name, pattern in originals.items():
            setattr(longtext, name, Counted(pattern))
        sys.setprofile(profile)
        condense(text)
    finally:
        sys.setprofile(None)
        for name, pattern in originals.items():
            setattr(longtext, name, pattern)
    return calls, scanned


@pytest.mark.parametrize("make", [
    lambda n: long_issue(n),
    lambda n: "One line with no newline: " + "token_" * (n // 6),  # a pasted minified blob
    lambda n: "Frames\n" + "".join(f'  File "/a/m{i}.py", line {i}, in f{i}\n'
                                   for i in range(n // 40)),
])
def test_work_grows_linearly_with_the_text(make):
    small, large = make(20_000), make(200_000)
    calls_small, scanned_small = _work(small)
    calls_large, scanned_large = _work(large)
    ratio = len(large) / len(small)
    assert calls_large <= 1.1 * ratio * calls_small + 100
    assert scanned_large <= 1.1 * ratio * scanned_small + 1_000
    assert scanned_large <= 16 * len(large)  # each character reaches a bounded few patterns
