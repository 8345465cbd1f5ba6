"""End to end on real code nobody here wrote: click 8.1.8's source distribution from PyPI
(pinned, the same package `make demo` uses), indexed with the real model."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import codesift

PACKAGE, VERSION = "click", "8.1.8"


@pytest.fixture(scope="module")
def click_src(tmp_path_factory) -> Path:
    cache = Path(__file__).resolve().parents[1] / ".venv" / "demo"
    archive = cache / f"{PACKAGE}-{VERSION}.tar.gz"
    if not archive.exists():
        cache.mkdir(parents=True, exist_ok=True)
        got = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary",
                              ":all:", "--no-deps", "-d", str(cache), f"{PACKAGE}=={VERSION}"],
                             capture_output=True, text=True, timeout=300)
        if got.returncode != 0 or not archive.exists():
            pytest.skip(f"cannot download {PACKAGE}=={VERSION} from PyPI: {got.stderr[-200:]}")
    root = tmp_path_factory.mktemp("click")
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root / f"{PACKAGE}-{VERSION}"


@pytest.fixture(scope="module")
def click_index(click_src: Path):
    src_only = click_src / "src"  # the library itself: enough for dense, quick to embed
    idx = codesift.open_index(src_only)
    summary = idx.update()
    assert summary.files_indexed >= 15 and summary.vectors_embedded > 300
    yield idx
    idx.close()


def where(hits, n):
    return [(h.path, h.symbol.rsplit(".", 2)[-2:]) for h in hits[:n]]


def test_identifier_lookup(click_index):
    hit = click_index.search("Context.invoke", k=3)[0]
    assert (hit.path, hit.symbol) == ("click/core.py", "click.core.Context.invoke")
    assert hit.kind == "method"


@pytest.mark.parametrize("question, path, symbol_end", [
    ("prompt the user for a password with hidden input", "click/termui.py", "prompt"),
    ("show a progress bar while iterating", "click/termui.py", "progressbar"),
    ("read the default value of an option from an environment variable",
     "click/core.py", "envvar"),
    ("open the user's editor to edit some text", "click/termui.py", "edit"),
])
def test_natural_language_questions(click_index, question, path, symbol_end):
    hits = click_index.search(question, k=5)
    assert any(h.path == path and symbol_end in h.symbol.rsplit(".", 1)[-1] for h in hits), \
        where(hits, 5)


def test_pasted_traceback(click_index):
    trace = ('Traceback (most recent call last):\n'
             '  File "/usr/lib/python3/site-packages/click/core.py", line 1078, in main\n'
             '    rv = self.invoke(ctx)\n'
             '  File "/usr/lib/python3/site-packages/click/termui.py", line 168, in prompt\n'
             '    value = prompt_func(prompt)\n'
             'click.exceptions.Abort')
    hits = click_index.search(trace, k=3)
    assert (hits[0].path, hits[0].symbol) == ("click/termui.py", "click.termui.prompt")
    assert hits[1].symbol == "click.core.BaseCommand.main"


def test_whole_sdist_lexical_and_tests_marked(click_src: Path, tmp_path: Path):
    with codesift.open_index(click_src, index_dir=str(tmp_path / "idx"), dense=False) as idx:
        summary = idx.update()
        assert summary.languages.get("python", 0) > 40 and summary.languages.get("rst", 0) > 10
        hits = idx.search("test that option prompts accept a default", k=5)
        assert any(h.is_test and h.path.startswith("tests/") for h in hits)
        code = idx.search("Option.get_default", k=1)[0]
        assert code.path == "src/click/core.py" and not code.is_test
