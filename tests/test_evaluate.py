"""`codesift evaluate`: queries mined from a real git history built here, with exact gold,
run against the index and the BM25 floors; its JSON shape, its plot, its errors."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from codesift.cli import main
from codesift.evaluate.compare import paired_bootstrap
from codesift.evaluate.gitlog import parse_hunks
from codesift.evaluate.mine import MiningParams, clean_message, mine, reject_reason

CORE_V1 = '''
    """Configuration and data loading."""


    def parse_config(text):
        """Parse key=value lines into a dict."""
        out = {}
        for line in text.splitlines():
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
        return out


    def load_data(path):
        """Read a data file."""
        with open(path) as fh:
            return fh.read()
'''

UTIL_V1 = '''
    """Small text helpers."""


    def slugify(title):
        """Lower-case words joined by dashes."""
        return "-".join(title.lower().split())


    class Registry:
        """Named handlers."""

        def register(self, name, handler):
            self.handlers[name] = handler
'''


class GitRepo:
    """A repository whose commits carry fixed dates, so its history is reproducible."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.day = 0
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "user.name", "Dev")

    def git(self, *args: str) -> str:
        date = f"2024-01-{self.day + 1:02d}T12:00:00+00:00"
        env = os.environ | {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        return subprocess.run(["git", *args], cwd=self.root, env=env, check=True,
                              capture_output=True, text=True).stdout

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    def commit(self, message: str) -> str:
        self.day += 1
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture()
def history(tmp_path: Path) -> tuple[GitRepo, dict[str, str]]:
    return build_history(tmp_path / "proj")


def build_history(root: Path) -> tuple[GitRepo, dict[str, str]]:
    """Commits of every kind the miner must tell apart, each named in the returned dict."""
    repo = GitRepo(root)
    shas: dict[str, str] = {}
    repo.write("src/app/core.py", CORE_V1)
    repo.write("src/app/util.py", UTIL_V1)
    repo.write("tests/test_core.py", "from app.core import parse_config\n\n\ndef test_x():\n    assert parse_config('') == {}\n")
    repo.write("README.md", "# proj\n")
    shas["root"] = repo.commit("Initial import of the project sources")
    repo.write("src/app/core.py", CORE_V1.replace(
        "            key, _, value = line.partition(\"=\")\n",
        "            if not line.strip():\n                continue\n"
        "            key, _, value = line.partition(\"=\")\n"))
    shas["fix"] = repo.commit("Make parse_config skip blank lines in the input (#12)\n\n"
                              "Blank lines used to become empty keys.\n\n"
                              "Signed-off-by: Dev <dev@example.com>\n"
                              "See https://example.com/issues/12")
    repo.write("src/app/util.py", UTIL_V1.replace('"-".join(title.lower().split())',
                                                 '"-".join(w for w in title.lower().split() if w.isalnum())'))
    shas["slug"] = repo.commit("Drop punctuation from slugs built out of titles")
    repo.write("README.md", "# proj\n\nInstall with pip.\n")
    shas["docs"] = repo.commit("Explain how to install the project with pip")
    repo.write("tests/test_core.py", "from app.core import parse_config\n\n\ndef test_x():\n    assert parse_config('\\n') == {}\n")
    shas["tests_only"] = repo.commit("Cover blank input in the parse_config checks")
    # A branch with its own commit, merged back with a merge commit.
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/app/core.py", (repo.root / "src/app/core.py").read_text().replace(
        "        return fh.read()\n", "        return fh.read().strip()\n"))
    shas["feature"] = repo.commit("Strip surrounding whitespace from loaded data files")
    repo.git("checkout", "-q", "main")
    repo.day += 1
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "Merge branch feature into the main line")
    # A revert of the slug change.
    repo.day += 1
    repo.git("revert", "--no-edit", shas["slug"])
    # A rename: util.py becomes text.py (no content change: not a query).
    repo.git("mv", "src/app/util.py", "src/app/text.py")
    shas["rename"] = repo.commit("Rename the util module to text for clarity")
    repo.write("src/app/text.py", (repo.root / "src/app/text.py").read_text().replace(
        "        self.handlers[name] = handler\n",
        "        if name in self.handlers:\n            raise KeyError(name)\n"
        "        self.handlers[name] = handler\n"))
    shas["registry"] = repo.commit("Refuse to register the same handler name twice")
    repo.write("src/app/core.py", (repo.root / "src/app/core.py").read_text() + "\n# end\n")
    shas["comment"] = repo.commit("Add a trailing comment marking the end of the module")
    repo.write("src/app/core.py", (repo.root / "src/app/core.py").read_text().replace("open(path)", "open(path, encoding='utf-8')"))
    shas["short"] = repo.commit("Tweak")
    return repo, shas


def test_mined_queries_and_gold_are_exact(history):
    repo, shas = history
    mined = mine(repo.root, MiningParams(since="2000-01-01"), name="proj")
    got = {q.id: q for q in mined.queries}
    assert set(got) == {f"proj-{shas[k][:10]}" for k in ("fix", "slug", "feature", "registry")}

    fix = got[f"proj-{shas['fix'][:10]}"]
    # Issue number, trailer and URL are cleaned out of the message.
    assert fix.query == "Make parse_config skip blank lines in the input\n\nBlank lines used to become empty keys."
    assert fix.gold_files == ("src/app/core.py",)
    assert [(s.name, s.kind, s.start_line, s.end_line) for s in fix.gold_symbols] == [
        ("parse_config", "function", 4, 12)]

    # Changed before the rename: relocated to the file's name today.
    slug = got[f"proj-{shas['slug'][:10]}"]
    assert slug.gold_files == ("src/app/text.py",)
    assert [(s.path, s.name, s.start_line, s.end_line) for s in slug.gold_symbols] == [
        ("src/app/text.py", "slugify", 4, 6)]

    # A commit on a merged branch counts; the merge commit does not.
    feature = got[f"proj-{shas['feature'][:10]}"]
    assert [(s.name, s.start_line, s.end_line) for s in feature.gold_symbols] == [("load_data", 15, 18)]

    registry = got[f"proj-{shas['registry'][:10]}"]
    assert [(s.name, s.kind, s.start_line, s.end_line) for s in registry.gold_symbols] == [
        ("Registry.register", "method", 12, 15)]

    assert mined.rejected == {"root commit": 1, "no source file": 2, "revert": 1,
                              "short subject": 1, "no code line changed": 2}
    assert mined.examined == 6


def test_seed_and_max_draw_reproducibly(history):
    repo, _ = history
    a = mine(repo.root, MiningParams(since="2000-01-01", max_queries=2, seed=1))
    b = mine(repo.root, MiningParams(since="2000-01-01", max_queries=2, seed=1))
    assert [q.id for q in a.queries] == [q.id for q in b.queries]
    assert len(a.queries) == 2
    everything = {q.id for q in mine(repo.root, MiningParams(since="2000-01-01")).queries}
    assert {q.id for q in a.queries} <= everything


def test_gold_gone_is_dropped_and_counted(history):
    repo, shas = history
    (repo.root / "src/app/text.py").unlink()  # the work tree (what the index sees) lost it
    mined = mine(repo.root, MiningParams(since="2000-01-01"))
    assert {q.id.rsplit("-", 1)[1] for q in mined.queries} == {shas["fix"][:10], shas["feature"][:10]}
    assert mined.rejected["gold file gone"] == 2


@pytest.mark.parametrize("subject, reason", [
    ("Revert \"Add the frobnicator to the widget\"", "revert"),
    ("Release 2.3.0 with the new parser", "release"),
    ("Bump version to 1.2.3 for the release", "release"),
    ("chore(deps): update all non-major dependencies", "chore"),
    ("docs: explain the retry policy in detail", "chore"),
    ("Fix typo in error message of the loader", "style"),
    ("Run gofmt over the whole tree again", "style"),
    ("Update README.md with the new install steps", "docs"),
    ("Address review comments from the last round", "churn"),
    ("Add tests for the frobnicator edge cases", "tests"),
    ("Update parser.py", "short subject"),
    ("fix", "short subject"),
    ("net/http: reject header values with a NUL byte", None),
    ("mm/slab: fix the freelist corruption on double free", None),
    ("core: make the scheduler yield before parking", None),
])
def test_subject_filters(subject, reason):
    assert reject_reason(subject) == reason


def test_clean_message_drops_noise_keeps_text():
    msg = ("runtime: fix a deadlock in the timer wheel (#4512)\n\n"
           "The wheel held its lock while firing.\n"
           "* [x] tests added\n* fixup\n"
           "Co-authored-by: A <a@example.com>\nFixes #4511\n")
    assert clean_message(msg) == ("runtime: fix a deadlock in the timer wheel\n\n"
                                  "The wheel held its lock while firing.")
    assert len(clean_message("word " * 1000, max_chars=2000)) <= 2000


def test_parse_hunks_old_and_new_sides():
    diff = ("diff --git a/x.py b/y.py\nsimilarity index 90%\nrename from x.py\nrename to y.py\n"
            "--- a/x.py\n+++ b/y.py\n@@ -3,0 +4,2 @@ def f():\n+    a = 1\n+    b = 2\n"
            "@@ -10 +12 @@\n-old\n+new\n")
    hunks = parse_hunks(diff)["y.py"]
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in hunks] == [(3, 0, 4, 2), (10, 1, 12, 1)]
    assert hunks[1].removed == ("old",) and hunks[1].added == ("new",)
    # git quotes a name holding a tab or a quote (C escapes; UTF-8 kept with quotePath off)
    quoted = 'diff --git x y\n--- "a/we\\tird \\"\u0436\\".py"\n+++ "b/we\\tird \\"\u0436\\".py"\n@@ -1 +1 @@\n-a\n+b\n'
    assert list(parse_hunks(quoted)) == ['we\tird "\u0436".py']


def test_paired_bootstrap_interval():
    same = paired_bootstrap([1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0])
    assert (same.diff, same.low, same.high, same.n) == (0.0, 0.0, 0.0, 4)
    better = paired_bootstrap([1.0] * 30, [0.0] * 25 + [1.0] * 5)
    assert better.significant and better.low > 0.5
    mixed = paired_bootstrap([1, 0] * 20, [0, 1] * 20)
    assert mixed.low < 0 < mixed.high and not mixed.significant
    assert paired_bootstrap([None, 1.0], [0.5, None]).n == 0  # no query scored by both


def test_evaluate_command_json_and_plot(history, tmp_path):
    repo, _ = history
    plot = tmp_path / "eval.png"
    queries = tmp_path / "queries.jsonl"
    result = CliRunner().invoke(main, [
        "evaluate", str(repo.root), "--since", "2000-01-01", "--no-dense", "--json",
        "--index-dir", str(tmp_path / "idx"), "--plot", str(plot), "--save-queries", str(queries)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["queries"] == 4 and data["mined"]["queries"] == 4
    assert set(data["systems"]) == {"codesift", "bm25-file", "bm25-chunk"}
    for row in data["systems"].values():
        assert {"F@1", "F@5", "F@10", "MRR", "S!@10", "n", "n_sym"} <= set(row)
    for base in ("bm25-file", "bm25-chunk"):
        for metric in ("F@1", "F@5", "F@10", "MRR", "S!@10"):
            cell = data["differences"][base][metric]
            assert cell["low"] <= cell["diff"] <= cell["high"]
    assert set(data["seconds"]) == {"mine", "index", "codesift", "bm25-file", "bm25-chunk"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [json.loads(x) for x in queries.read_text().splitlines()]
    assert len(lines) == 4 and {"query", "gold_files", "gold_symbols", "commit"} <= set(lines[0])


def test_evaluate_command_table(history, tmp_path):
    repo, _ = history
    result = CliRunner().invoke(main, ["evaluate", str(repo.root), "--since", "2000-01-01",
                                       "--no-dense", "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert "4 queries" in result.stdout
    assert "vs BM25-file (95% CI)" in result.stdout and "S!@10" in result.stdout


def test_no_usable_history_is_one_clear_line(tmp_path):
    repo = GitRepo(tmp_path / "empty")
    repo.write("a.py", "def f():\n    return 1\n")
    repo.commit("Initial import of the project sources")
    result = CliRunner().invoke(main, ["evaluate", str(repo.root), "--no-dense",
                                       "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code == 2
    assert result.stderr.lstrip().startswith("error: no usable queries in the history of empty")
    assert "hint:" in result.stderr and "Traceback" not in result.output


def test_not_a_git_repository(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "plain"), "--no-dense",
                                       "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code == 2
    assert "not inside a git repository" in result.stderr


def test_bad_since_date(history, tmp_path):
    repo, _ = history
    result = CliRunner().invoke(main, ["evaluate", str(repo.root), "--since", "last week",
                                       "--no-dense", "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code == 2 and "is not a date" in result.stderr


def test_comment_layout_and_inline_test_changes_make_no_query(tmp_path):
    repo = GitRepo(tmp_path / "rs")
    src = ("pub struct Printer {\n    buf: Vec<u8>,\n}\n\n"
           "pub fn render(p: &Printer) -> usize {\n    p.buf.len()\n}\n\n"
           "#[cfg(test)]\nmod tests {\n    #[test]\n    fn renders() {\n        assert_eq!(1, 1);\n    }\n}\n")
    repo.write("src/lib.rs", src)
    repo.commit("Initial import of the printer crate")
    repo.write("src/lib.rs", src.replace("    buf: Vec<u8>,\n", "    buf: Vec<u8>, // TODO: a writer instead\n"))
    repo.commit("printer: add a TODO about the buffer field")
    repo.write("src/lib.rs", (repo.root / "src/lib.rs").read_text().replace("    p.buf.len()\n", "        p.buf.len()\n"))
    repo.commit("printer: indent the render body differently")
    repo.write("src/lib.rs", (repo.root / "src/lib.rs").read_text().replace("assert_eq!(1, 1)", "assert_eq!(2, 2)"))
    repo.commit("printer: make the render check compare two")
    repo.write("src/lib.rs", (repo.root / "src/lib.rs").read_text().replace("p.buf.len()", "p.buf.len() + 1"))
    fix = repo.commit("printer: count the trailing newline in render")
    mined = mine(repo.root, MiningParams(since="2000-01-01"))
    assert [q.id.rsplit("-", 1)[1] for q in mined.queries] == [fix[:10]]
    assert [s.name for s in mined.queries[0].gold_symbols] == ["render"]
    assert mined.rejected == {"root commit": 1, "no code line changed": 2, "test code only": 1}


def test_the_multilanguage_devset_list_is_well_formed():
    import re
    import tomllib

    from codesift.evaluate.mine import MiningParams

    spec = tomllib.loads((Path(__file__).resolve().parents[1] / "bench" / "devset_repos.toml")
                         .read_text(encoding="utf-8"))
    MiningParams(**spec["mining"])  # every committed parameter is one the miner takes
    repos = spec["repo"]
    assert len(repos) >= 16 and len({r["name"] for r in repos}) == len(repos)
    assert all(re.fullmatch(r"[0-9a-f]{40}", r["commit"]) for r in repos)
    languages = {lang for r in repos for lang in r["languages"]}
    assert {"go", "rust", "java", "typescript", "javascript", "c", "cpp", "c_sharp", "ruby",
            "php", "python"} <= languages
    heldout = Path(__file__).resolve().parents[2] / "shared" / "eval" / "heldout.txt"
    if not heldout.is_file():
        pytest.skip("../shared/eval/heldout.txt is absent: the reserved projects cannot be checked")
    reserved = {line.split()[0].lower() for line in heldout.read_text().splitlines()
                if line.strip() and not line.startswith("#") and "/" in line.split()[0]}
    chosen = {"/".join(r["url"].rstrip("/").split("/")[-2:]).lower() for r in repos}
    assert not chosen & reserved


def test_test_files_are_recognised_by_the_index_conventions():
    from codesift.evaluate.mine import _source_language

    assert _source_language("src/Polly.Core/Retry/RetryHelper.cs") == "c_sharp"
    assert _source_language("src/Polly.Testing/RetryHelperTests.cs") is None  # *Tests.cs
    assert _source_language("pkg/x_test.go") is None and _source_language("pkg/x.go") == "go"
    assert _source_language("lib/app.test.ts") is None


def test_since_a_date_counts_from_its_midnight(tmp_path):
    """git reads a bare date as that day at the current time of day; --since DATE means
    the whole day (a commit at 00:00:05 was dropped whenever the run was later than that)."""
    from codesift.evaluate.gitlog import Repo

    repo = GitRepo(tmp_path / "p")
    repo.write("a.py", "def f():\n    return 1\n")
    repo.commit("Add the first function of the module")
    repo.write("a.py", "def f():\n    return 2\n")
    repo.git("add", "-A")
    early = "2024-01-05T00:00:05+00:00"
    subprocess.run(["git", "commit", "-q", "-m", "Return two from the first function"],
                   cwd=repo.root, check=True, capture_output=True,
                   env=os.environ | {"GIT_AUTHOR_DATE": early, "GIT_COMMITTER_DATE": early})
    git = Repo(repo.root)
    try:
        subjects = [c.subject for c in git.commits("2024-01-05")]
    finally:
        git.close()
    assert subjects == ["Return two from the first function"]
