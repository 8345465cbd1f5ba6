"""The training manifest of the shipped code model (bench/tune_sources.toml) stays clean:
every source pinned and licensed, none of them reserved for measurement (heldout.txt, the
history set, the multi-language development set), and the evaluation bodies recognised
however they are laid out (issue 16)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"


def _bench_module(name: str):
    """bench/ is not a package: load its module by path, once, under its own name (so
    tune_corpus's `import tune_clean` finds the same module)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


clean = _bench_module("tune_clean")
corpus = _bench_module("tune_corpus")
SOURCES = clean.load_manifest(ROOT / "bench" / "tune_sources.toml")


def _need_eval() -> None:
    if not (EVAL / "heldout.txt").is_file():
        pytest.skip(f"{EVAL} is absent (no ../shared/eval beside the checkout): the reserved "
                    f"projects and evaluation bodies cannot be checked")


# --- the manifest ---------------------------------------------------------------------------

def test_every_entry_is_pinned_licensed_and_named_once():
    assert corpus.manifest_problems(SOURCES, reserved={}) == []
    names = [s["name"] for s in SOURCES]
    assert len(names) == len(set(names))
    for source in SOURCES:
        if source["kind"] == "git":
            assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), source["name"]
        else:
            assert source["version"] and re.fullmatch(r"[0-9a-f]{64}", source["sha256"]), source["name"]
        assert source["licence"], source["name"]


def test_the_manifest_spans_the_languages_with_git_histories_among_them():
    languages = {lang for s in SOURCES for lang in s["languages"]}
    assert set(corpus.LANGUAGES) <= languages
    git = [s for s in SOURCES if s["kind"] == "git"]
    assert len(git) >= 12
    assert len({s["languages"][0] for s in git}) >= 8  # commit->code pairs in most languages
    assert {s["kind"] for s in SOURCES} == set(corpus.KINDS)
    assert 40 <= len(SOURCES) <= 70


def test_no_source_is_a_development_set_repository():
    reserved = clean.reserved_labels(eval_dir=None)
    assert "tokio-rs/tracing" in reserved and "golang-x-net" in reserved
    assert [r for s in SOURCES if (r := clean.is_excluded(s, reserved))] == []


def test_no_source_is_reserved_by_heldout_or_the_history_set():
    _need_eval()
    reserved = clean.reserved_labels(EVAL)
    history = clean.history_projects(EVAL / "history")
    assert {"rich", "attrs", "jinja2", "marshmallow", "structlog", "commander", "ws"} <= history
    assert clean.heldout_projects(EVAL / "heldout.txt") <= set(reserved)
    assert [r for s in SOURCES if (r := clean.is_excluded(s, reserved))] == []
    keys = set().union(*(clean.source_keys(s) for s in SOURCES))
    assert not keys & history


def test_manifest_problems_name_each_bad_entry():
    good = {"name": "widget", "kind": "git", "upstream": "acme/widget", "commit": "a" * 40,
            "languages": ["go"], "licence": "MIT"}
    bad = [good, dict(good),  # the same name twice
           {**good, "name": "nocommit", "commit": "main"},
           {**good, "name": "nolicence", "licence": ""},
           {**good, "name": "unpinned", "kind": "pypi", "package": "unpinned", "version": "1.0"},
           {**good, "name": "klingon", "languages": ["klingon"]},
           {**good, "name": "escapes", "include": ["../elsewhere"]},
           {**good, "name": "reserved", "upstream": "tokio-rs/tracing"}]
    problems = "\n".join(corpus.manifest_problems(bad, clean.reserved_labels(eval_dir=None)))
    for expected in ("widget: the name is used 2 times", "nocommit: a git source needs `commit`",
                     "nolicence: `licence`", "unpinned: a pypi source needs `sha256`",
                     "klingon: languages", "escapes: `include`", "reserved: 'tokio-rs/tracing'"):
        assert expected in problems


# --- exclusion by project -------------------------------------------------------------------

@pytest.fixture
def made_up_heldout(tmp_path: Path) -> dict[str, str]:
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("# reserved\nacme/widget-kit   widget  python3-gizmo  librust-sprocket-dev\n"
                       "acme/spider       (Spider dev; a note, not a name)\n", encoding="utf-8")
    assert {"acme/widget-kit", "widget-kit", "widget", "gizmo", "sprocket"} <= clean.heldout_projects(heldout)
    assert "a" not in clean.heldout_projects(heldout) and "note" not in clean.heldout_projects(heldout)
    return {key: "heldout.txt" for key in clean.heldout_projects(heldout)}


@pytest.mark.parametrize("source", [
    {"name": "wk", "kind": "git", "upstream": "Acme/Widget-Kit"},  # owner/name, any case
    {"name": "w", "kind": "pypi", "package": "Widget", "upstream": "someone/else"},
    {"name": "w", "kind": "npm", "package": "widget-core", "upstream": "x/y"},  # family
    {"name": "g", "kind": "debian", "package": "python3-gizmo", "upstream": "x/y"},
    {"name": "g", "kind": "pypi", "package": "gizmo", "upstream": "x/y"},  # Debian name's project
    {"name": "s", "kind": "debian", "package": "librust-sprocket-macros-dev", "upstream": "x/y"},
    {"name": "s", "kind": "npm", "package": "sprocket_utils", "upstream": "x/y"},
    {"name": "w", "kind": "debian", "package": "golang-github-acme-widget-kit-dev", "upstream": "x/y"},
    {"name": "e", "kind": "git", "upstream": "x/y", "note": "../shared/eval/cosqa"},
])
def test_a_reserved_project_is_excluded_under_any_name(made_up_heldout, source):
    reason = clean.is_excluded(source, made_up_heldout)
    assert reason and reason.startswith(source["name"] + ":")


@pytest.mark.parametrize("source", [
    {"name": "widgets", "kind": "pypi", "package": "widgets", "upstream": "other/widgets"},
    {"name": "gizmos", "kind": "npm", "package": "@tools/gizmos", "upstream": "tools/gizmos"},
    {"name": "kit", "kind": "git", "upstream": "acme/kit"},  # same owner, another project
])
def test_another_project_is_not_excluded(made_up_heldout, source):
    assert clean.is_excluded(source, made_up_heldout) is None


def test_the_development_set_reserves_its_registry_names():
    reserved = clean.reserved_labels(eval_dir=None)
    for package in ("librust-tracing-core-dev", "golang-golang-x-net-dev", "@trpc/server",
                    "golang-github-mvdan-sh-dev", "libuv"):
        assert clean.is_excluded({"name": "x", "package": package, "upstream": "x/y"}, reserved)


def test_vendored_copies_of_reserved_projects_are_found(made_up_heldout):
    assert clean.vendored_reserved("third_party/widget/src/a.c", made_up_heldout)
    assert clean.vendored_reserved("node_modules/gizmo/index.js", made_up_heldout)
    assert clean.vendored_reserved("src/widget/a.c", made_up_heldout) is None  # not vendored
    assert clean.vendored_reserved("vendor/other/a.c", made_up_heldout) is None


def test_a_file_saying_it_copies_a_reserved_project_is_found(made_up_heldout):
    found = clean.borrowed_from_reserved("x = 1\n# Adapted from Widget-Kit's lexer\n", made_up_heldout)
    assert found == "Adapted from Widget-Kit's lexer"
    assert clean.borrowed_from_reserved("// copied from gizmo/util.go (v2)", made_up_heldout)
    assert clean.borrowed_from_reserved("# adapted from the sprocket docs", made_up_heldout)
    assert clean.borrowed_from_reserved("# a widget, adapted from nothing", made_up_heldout) is None
    assert clean.borrowed_from_reserved("# inspired by gizmo", made_up_heldout) is None


def test_include_and_exclude_select_files():
    source = {"include": ["src", "lib/core.py"], "exclude": ["src/vendored"]}
    assert clean.selected("src/a.py", source) and clean.selected("lib/core.py", source)
    assert not clean.selected("srcx/a.py", source)  # a prefix is a folder, not a string
    assert not clean.selected("src/vendored/b.py", source)
    assert not clean.selected("dist/a.js", source)
    assert clean.selected("anything.py", {})


# --- evaluation bodies ----------------------------------------------------------------------

FUNC = '''def add(a, b):
    """Add two numbers."""
    return a + b
'''


def test_the_body_hash_ignores_layout_only():
    h = clean.normalised_body_hash
    reformatted = ('    def add(a,b):\r\n\r\n        """Add two numbers."""\r\n'
                   '        return (a\n                + b)\n'.replace("(a\n", "a\n").replace("+ b)", "+ b"))
    assert h(FUNC) == h(reformatted) == h("def add(a, b):\n\t\"\"\"Add two numbers.\"\"\"\n\n\treturn a+b")
    assert h(FUNC) != h(FUNC.replace("a + b", "a - b"))
    assert h(FUNC) != h(FUNC.replace("add", "Add"))  # case is code
    assert h(FUNC) != h(FUNC.replace("Add two", "Sum two"))  # comments and docs are kept
    assert re.fullmatch(r"[0-9a-f]{40}", h(FUNC))


def test_eval_body_hashes_from_a_made_up_eval_dir(tmp_path: Path):
    (tmp_path / "cosqa").mkdir()
    (tmp_path / "spider").mkdir()
    (tmp_path / "cosqa" / "code_idx_map.txt").write_text(json.dumps({FUNC: 0, "  \n": 1}))
    (tmp_path / "spider" / "dev.json").write_text(json.dumps(
        [{"query": "SELECT count(*) FROM singer", "question": "How many singers?"}]))
    hashes = clean.eval_body_hashes(tmp_path)
    assert len(hashes) == 2  # the blank body is no body
    assert clean.normalised_body_hash("    def add(a,b):\n  '''x'''") not in hashes
    assert clean.normalised_body_hash(FUNC.replace("    ", "  ")) in hashes
    assert clean.normalised_body_hash("SELECT count(*)\n  FROM singer") in hashes
    (tmp_path / "spider" / "dev.json").unlink()
    with pytest.raises(FileNotFoundError, match="dev.json"):
        clean.eval_body_hashes(tmp_path)


def test_eval_body_hashes_cover_the_shared_pools():
    _need_eval()
    hashes = clean.eval_body_hashes(EVAL)
    pool = json.loads((EVAL / "cosqa" / "code_idx_map.txt").read_text(encoding="utf-8"))
    spider = json.loads((EVAL / "spider" / "dev.json").read_text(encoding="utf-8"))
    assert len(hashes) >= len(set(map(clean.normalised_body_hash, pool))) > 6000
    some_code = next(iter(pool))
    assert clean.normalised_body_hash("\n".join(line.strip() for line in some_code.splitlines())) in hashes
    assert clean.normalised_body_hash(spider[0]["query"]) in hashes


# --- what the trained model used ------------------------------------------------------------

def test_the_trained_models_sources_are_manifest_entries_and_clean():
    """bench/code_model_manifest.json (written by `tune_code_model.py manifest --write`)
    names only manifest sources, at their pins, none of them reserved."""
    _need_eval()
    used = json.loads((ROOT / "bench" / "code_model_manifest.json").read_text())
    pins = {s["name"]: s for s in SOURCES}
    reserved = clean.reserved_labels()
    total = 0
    for row in used["sources"]:
        source = pins[row["name"]]  # KeyError: a source the manifest does not list
        assert row["pin"] == (source.get("commit") or source.get("version")), row["name"]
        assert clean.is_excluded(source, reserved) is None, row["name"]
        total += sum(row["pairs_used"].values())
    assert total == used["pairs_used"] > 0
