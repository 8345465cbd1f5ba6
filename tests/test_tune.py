"""`codesift tune`: pairs synthesised from a fixture repository with known docs, tests,
calls, inheritance, raised messages, a README and a git history (a temporal split
respected); a tiny real training run whose ONNX export matches the torch model; resume
after an interrupted run; an index built with the tuned encoder searched end to end; bad
input as one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from codesift.api import open_index
from codesift.cli import main
from codesift.tune.synthesize import SynthesisParams, synthesize
from codesift.tune.text import strip_doc
from llm_server import llm_server
from test_evaluate import GitRepo

__all__ = ["llm_server"]  # the fixture, imported for pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

CART = '''
    """The shopping cart."""
    from shop.tax import compute_tax


    class Cart:
        """Items a customer is about to buy, with quantities and prices."""

        def __init__(self):
            self.items = {}

        def add_item(self, name, price, quantity=1):
            """Put an item in the cart, adding to the quantity already there."""
            if quantity <= 0:
                raise ValueError("quantity must be a positive number of items")
            self.items[name] = (price, self.items.get(name, (price, 0))[1] + quantity)

        def total(self, rate):
            """The amount to pay for every item, tax included."""
            amount = sum(price * qty for price, qty in self.items.values())
            return amount + compute_tax(amount, rate)


    class DiscountCart(Cart):
        """A cart that takes a fixed share off its total."""

        def total(self, rate):
            return 0.9 * super().total(rate)
'''

TAX = '''
    """Taxes."""


    def compute_tax(amount, rate):
        """Compute the tax owed on an amount at a given rate."""
        if rate < 0:
            raise ValueError("the tax rate cannot be negative here")
        return amount * rate
'''

TESTS = '''
    from shop.cart import Cart
    from shop.tax import compute_tax


    def test_add_item_counts_quantity():
        cart = Cart()
        cart.add_item("pen", 2.0, 3)
        assert cart.items["pen"] == (2.0, 3)


    def test_compute_tax_at_rate():
        assert compute_tax(100, 0.2) == 20
'''

README = '''
    # shop

    ## Taxes

    Use `compute_tax` to find the tax owed on an amount. Rates are fractions, so a twenty
    percent tax is written as 0.2 and never as a negative number.
'''


def build_shop(root: Path) -> tuple[GitRepo, dict[str, str]]:
    repo = GitRepo(root)
    repo.write("shop/__init__.py", "")
    repo.write("shop/cart.py", CART.replace("raise ValueError", "raise KeyError"))
    repo.write("shop/tax.py", TAX.replace("return amount * rate", "return amount"))
    repo.write("tests/test_cart.py", TESTS)
    repo.write("README.md", README)
    shas = {"initial": repo.commit("Initial version of the shop package")}
    repo.write("shop/cart.py", CART)
    shas["quantity"] = repo.commit("Reject a quantity of zero or less when adding an item to the cart")
    repo.write("shop/tax.py", TAX)
    shas["rate"] = repo.commit("Multiply the amount by the rate when computing the tax owed")
    repo.write("shop/tax.py", TAX + '''

    def round_tax(value):
        """Round a tax amount to whole cents for an invoice."""
        return round(value, 2)
''')
    repo.write("shop/cart.py", CART.replace("return amount + compute_tax(amount, rate)",
                                             "return round(amount + compute_tax(amount, rate), 2)"))
    shas["after"] = repo.commit("Round the cart total to whole cents before it is shown")
    return repo, shas


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[GitRepo, dict[str, str]]:
    return build_shop(tmp_path_factory.mktemp("tune") / "shop")


def _pairs(root: Path, **params):
    with open_index(root, index_dir=str(root.parent / (root.name + "-index")), dense=False) as idx:
        idx.update()
        return synthesize(idx, SynthesisParams(**params))


def test_pairs_of_every_kind_with_provenance(shop):
    repo, shas = shop
    made = _pairs(repo.root)
    kinds = {p.kind for p in made.pairs}
    assert {"doc", "code2doc", "ident", "error", "test", "call", "impl", "section",
            "commit"} <= kinds, kinds
    by = {(p.kind, p.source.symbol): p for p in made.pairs}
    doc = next(p for p in made.pairs if p.kind == "doc" and p.source.symbol.endswith("compute_tax"))
    assert doc.query == "Compute the tax owed on an amount at a given rate."
    assert "tax owed" not in doc.positive and "amount * rate" in doc.positive  # doc taken out
    assert doc.source.path == "shop/tax.py" and doc.source.commit == ""
    error = [p for p in made.pairs if p.kind == "error"]
    assert any(p.query == "ValueError: quantity must be a positive number of items" and
               "def add_item" in p.positive for p in error)
    test = next(p for p in made.pairs if p.kind == "test" and "test_compute_tax" in p.query)
    assert test.positive.startswith("def compute_tax")
    impl = [p for p in made.pairs if p.kind == "impl"]
    assert any("0.9 * super().total" in p.query and "sum(price" in p.positive for p in impl)
    section = next(p for p in made.pairs if p.kind == "section")
    assert "compute_tax" in section.query and section.positive.startswith("def compute_tax")
    commits = {p.source.commit for p in made.pairs if p.kind == "commit"}
    assert commits and all(any(s.startswith(c) for s in shas.values()) for c in commits)
    call = by[("call", "shop.tax.compute_tax")]  # provenance names the callee
    assert "compute_tax(amount, rate)" in call.query and call.positive.startswith("def compute_tax")
    assert len({(p.kind, p.query, p.positive) for p in made.pairs}) == len(made.pairs)
    assert made.stats["with_negative"] > 0
    for p in made.pairs:  # a negative is never the positive itself
        assert all(n.strip() != p.positive.strip() for n in p.negatives)


def test_temporal_split_sees_nothing_after_the_cut_off(shop, tmp_path):
    repo, shas = shop
    cut = tmp_path / "cut"
    repo.git("worktree", "add", "-q", "--detach", str(cut), shas["rate"])
    try:
        made = _pairs(cut)
    finally:
        repo.git("worktree", "remove", "--force", str(cut))
    commits = {p.source.commit for p in made.pairs if p.source.commit}
    assert commits, "the commits before the cut-off make pairs"
    assert not any(shas["after"].startswith(c) for c in commits)
    assert not any("round_tax" in p.source.symbol or "round(" in p.positive for p in made.pairs)


def test_strip_doc_keeps_code_that_mentions_the_doc():
    code = 'def f(x):\n    """Add one."""\n    return x + 1  # Add one.\n'
    assert strip_doc(code, "Add one.") == "def f(x):\n    return x + 1  # Add one."
    javadoc = "/**\n * Parses the header.\n */\nint parse(String s) {\n  return 1;\n}"
    assert strip_doc(javadoc, "Parses the header.") == "int parse(String s) {\n  return 1;\n}"


@pytest.fixture(scope="module")
def tuned(shop, tmp_path_factory):
    """One tiny real training run through the CLI: 3 steps of 4 pairs."""
    repo, _ = shop
    base = tmp_path_factory.mktemp("tuned")
    out, index_dir = base / "model-out", str(base / "lexical-index")
    assert CliRunner().invoke(main, ["index", str(repo.root), "--no-dense", "--index-dir",
                                     index_dir]).exit_code == 0
    result = CliRunner().invoke(main, ["tune", str(repo.root), "--index-dir", index_dir,
                                       "--out", str(out), "--steps", "3", "--batch-size", "4",
                                       "--json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_tiny_training_run_makes_a_loadable_model_with_matching_onnx(tuned):
    out, info = tuned
    model = out / "model"
    for name in ("model.safetensors", "modules.json", "README.md", "codesift-tune.json",
                 "onnx/model.onnx", "onnx/model-int8-pc.onnx", "onnx/tokenizer.json"):
        assert (model / name).is_file(), name
    assert info["training"]["steps"] == 3 and not info["training"]["stopped_early"]
    assert info["export"]["onnx_fp32_min_cosine"] > 0.999
    assert info["export"]["onnx_int8_min_cosine"] > 0.95
    assert sum(info["pairs_by_kind"].values()) > 10
    assert set(info["evaluation"]["before"]) == {"mrr@10", "recall@1", "recall@10"}
    assert not (out / "checkpoints").exists()  # a finished run leaves nothing to resume
    card = (model / "README.md").read_text()
    assert "| commit |" in card and info["fingerprint"] in card


def test_index_with_the_tuned_encoder_searched_end_to_end(shop, tuned, tmp_path):
    repo, _ = shop
    out, info = tuned
    runner = CliRunner()
    index_dir = str(tmp_path / "idx")
    built = runner.invoke(main, ["index", str(repo.root), "--index-dir", index_dir,
                                 "--embedder", f"local:{out}", "--json"])
    assert built.exit_code == 0, built.output
    status = json.loads(runner.invoke(main, ["status", "--repo", str(repo.root), "--index-dir",
                                             index_dir, "--json"]).stdout)
    assert status["embedder"] == f"local:{out / 'model'}@{info['fingerprint']}"
    found = runner.invoke(main, ["search", "how much tax is owed on an amount", "--repo",
                                 str(repo.root), "--index-dir", index_dir, "--json"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)
    assert any(h["symbol"].endswith("compute_tax") for h in hits[:3])
    assert any("dense" in h["sources"] for h in hits)
    # A terminal search with the tuned model never imports torch (its ONNX export ships).
    code = ("import sys\nfrom codesift.api import open_index\n"
            f"idx = open_index({str(repo.root)!r}, index_dir={index_dir!r})\n"
            "idx.search('tax owed on an amount')\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    env = dict(os.environ, PYTHONPATH=SRC)
    ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr


def test_a_model_trained_again_is_another_encoder(shop, tuned, tmp_path):
    """The index remembers the fingerprint: after the folder is trained again, searching
    the old index is a clear error instead of comparing two encoders' vectors."""
    repo, _ = shop
    out, info = tuned
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(out), str(copy)], check=True)
    index_dir = str(tmp_path / "idx")
    runner = CliRunner()
    assert runner.invoke(main, ["index", str(repo.root), "--index-dir", index_dir,
                                "--embedder", f"local:{copy}"]).exit_code == 0
    meta = copy / "model" / "codesift-tune.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "fingerprint": "0" * 12}))
    found = runner.invoke(main, ["search", "tax", "--repo", str(repo.root), "--index-dir",
                                 index_dir])
    assert found.exit_code != 0
    assert "embedded with" in found.output and "--rebuild" in found.output


def test_resume_after_an_interrupted_run(shop, tmp_path):
    from codesift.tune.run import TuneOptions, tune_repository
    from codesift.tune.train import TrainParams

    repo, _ = shop
    out = tmp_path / "resumable"
    opts = TuneOptions(out=out, train=TrainParams(steps=4, batch_size=4, minutes=1e-6),
                       synthesis=SynthesisParams(history=False), quiet=True)
    with open_index(repo.root, index_dir=str(tmp_path / "i"), dense=False) as idx:
        idx.update()
        first = tune_repository(idx, opts)
        assert first["training"]["stopped_early"] and first["training"]["steps"] == 1
        assert (out / "model" / "model.safetensors").is_file()  # usable already
        assert (out / "checkpoints").is_dir()
        again = TuneOptions(out=out, train=TrainParams(steps=4, batch_size=4), quiet=True,
                            synthesis=SynthesisParams(history=False))
        second = tune_repository(idx, again)
    assert second["training"]["resumed_from"].endswith("checkpoint-1")
    assert second["training"]["steps"] == 4 and not second["training"]["stopped_early"]
    assert second["synthesis"] == {"resumed": True}
    assert not (out / "checkpoints").exists()


def _fails(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return result.output


def test_bad_input_gets_one_line_errors(shop, tmp_path):
    repo, _ = shop
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("nothing to learn here\n")
    assert "no index" in _fails(["tune", str(empty)])
    assert CliRunner().invoke(main, ["index", str(empty), "--no-dense"]).exit_code == 0
    assert "no definitions" in _fails(["tune", str(empty), "--out", str(tmp_path / "o1")])
    index_dir = str(tmp_path / "shop-idx")
    assert CliRunner().invoke(main, ["index", str(repo.root), "--no-dense",
                                     "--index-dir", index_dir]).exit_code == 0
    out = _fails(["tune", str(repo.root), "--index-dir", index_dir, "--base", "no-such-model-x",
                  "--out", str(tmp_path / "o2")])
    assert "not available offline" in out
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "modules.json").write_text("[]")
    (broken / "config.json").write_text("{not json")
    out = _fails(["tune", str(repo.root), "--index-dir", index_dir, "--base", str(broken),
                  "--out", str(tmp_path / "o3")])
    assert "cannot load the base model" in out


def test_llm_questions_join_the_pairs(shop, tmp_path, llm_server):
    """--llm-questions: the stand-in endpoint's questions become `llm` pairs of the run."""
    from codesift.tune.run import TuneOptions, _pairs
    from codesift.tune.train import TrainParams
    from llm_server import Answer
    from test_tune_llm import make_client

    repo, _ = shop
    for _ in range(6):
        llm_server.push(Answer('["Which code builds a cart that takes a share off the total?"]'))
    opts = TuneOptions(out=tmp_path / "o", train=TrainParams(), llm_questions=2,
                       synthesis=SynthesisParams(history=False, negatives=False))
    (tmp_path / "o").mkdir()
    with open_index(repo.root, index_dir=str(tmp_path / "i"), dense=False) as idx, \
            make_client(llm_server) as client:
        idx.update()
        pairs, held, _ = _pairs(idx, opts, lambda _m: None, client)
    llm = [p for p in pairs + held if p.kind == "llm"]
    assert llm and all(p.query.startswith("Which code builds a cart") for p in llm)
    assert (tmp_path / "o" / "llm-questions.db").is_file()  # asked once, cached


def test_the_text_summary_names_what_to_run_next(tuned, capsys):
    from codesift.cli.tune import _print

    _, info = tuned
    _print(info)
    out = capsys.readouterr().out
    assert "trained 3/3 steps" in out and "held-out pairs (" in out
    assert f"--embedder local:{info['path']} --rebuild" in out


def test_training_rows_with_and_without_the_mined_negative():
    pytest.importorskip("datasets")
    from codesift.tune.records import Pair, Provenance
    from codesift.tune.train import to_dataset
    src = Provenance("a.py", "f")
    pairs = [Pair("doc", "sum two numbers", "def add(a, b): ...", src, ("def sub(a, b): ...",)),
             Pair("doc", "read a file", "def read(p): ...", src)]
    with_neg = to_dataset(pairs, seed=0)
    assert with_neg.column_names == ["anchor", "positive", "negative"]
    assert with_neg["negative"][0] == "def sub(a, b): ..."
    plain = to_dataset(pairs, seed=0, hard_negatives=False)
    assert plain.column_names == ["anchor", "positive"] and plain["anchor"] == [
        "sum two numbers", "read a file"]
