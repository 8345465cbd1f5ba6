"""The repo map on real indexes (a small shop written here, and click 8.1.8 from PyPI):
budgets respected exactly with the project's token counter, focus, ranking, determinism, CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_tree
from test_real_package import click_src  # noqa: F401  (a pytest fixture: click's sdist)

import codesift
from codesift.budget import count_tokens
from codesift.errors import SymbolNotFoundError, UsageError
from codesift.graph.rank import pagerank, teleport, weighted_graph
from codesift.graph.repomap import build_repo_map
from codesift.store.sqlite_map import read_code_graph

SHOP = {
    "shop/__init__.py": '''
        from .money import to_cents
    ''',
    "shop/money.py": '''
        """Money helpers: everything prices go through."""


        def to_cents(amount):
            """Convert an amount in units to whole cents."""
            return _round_half_even(amount * 100)


        def _round_half_even(value):
            return round(value)


        def format_price(cents):
            return f"{cents / 100:.2f}"


        def legacy_rate(currency):
            """Nobody calls this any more."""
            return {"EUR": 1.1}.get(currency, 1.0)
    ''',
    "shop/cart.py": '''
        from .money import format_price, to_cents


        class Cart:
            def __init__(self):
                self.items = []

            def add(self, name, price):
                self.items.append((name, to_cents(price)))

            def total(self):
                return sum(cents for _name, cents in self.items)

            def describe(self):
                return format_price(self.total())
    ''',
    "shop/orders.py": '''
        from .cart import Cart
        from .money import to_cents


        class Order:
            def __init__(self, cart: Cart):
                self.cart = cart

            def charge(self, gateway, tip=0):
                return gateway.pay(self.cart.total() + to_cents(tip))


        def place_order(cart, gateway):
            order = Order(cart)
            return order.charge(gateway)
    ''',
    "shop/refunds.py": '''
        from .money import format_price, to_cents


        def refund(amount):
            return -to_cents(amount)


        def refund_note(amount):
            return "refunded " + format_price(refund(amount))
    ''',
    "shop/reports.py": '''
        from .money import to_cents


        def daily_total(amounts):
            return sum(to_cents(a) for a in amounts)


        def weekly_total(days):
            return sum(daily_total(d) for d in days)
    ''',
    "shop/archive/old.py": '''
        def unused_leaf():
            return 1
    ''',
    "tests/test_money.py": '''
        from shop.money import to_cents


        def test_to_cents():
            assert to_cents(1.5) == 150


        def test_to_cents_rounds():
            assert to_cents(0.005) == 0
    ''',
}


def open_shop(root: Path, index_dir: Path):
    idx = codesift.open_index(root, index_dir=index_dir, dense=False)
    idx.update()
    return idx


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> codesift.Index:
    base = tmp_path_factory.mktemp("shop")
    idx = open_shop(write_tree(base / "repo", SHOP), base / "index")
    yield idx
    idx.close()


@pytest.fixture(scope="module")
def click_map_index(click_src: Path, tmp_path_factory):  # noqa: F811
    idx = codesift.open_index(click_src, index_dir=tmp_path_factory.mktemp("click-idx"),
                              dense=False)
    idx.update()
    yield idx
    idx.close()


def entries(repo_map) -> dict[str, dict]:
    return {e["symbol"]: e for f in repo_map.to_dict()["files"] for e in f["definitions"]}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codesift", *args], capture_output=True,
                          text=True, timeout=300)


# -- the budget ------------------------------------------------------------------------

@pytest.mark.parametrize("budget", [12, 30, 64, 128, 256, 10_000])
def test_budget_respected_exactly_small_repo(shop, budget):
    m = shop.repo_map(budget)
    assert m.tokens == count_tokens(m.text) <= budget
    assert m.budget == budget


@pytest.mark.parametrize("budget", [64, 256, 512, 1024, 2048, 4096])
def test_budget_respected_exactly_and_nearly_filled_on_click(click_map_index, budget):
    m = click_map_index.repo_map(budget)
    assert m.tokens == count_tokens(m.text) <= budget
    # Whole lines only, so a few tokens can stay unused; never most of them.
    assert m.tokens >= budget - max(16, budget // 20), (budget, m.tokens)


def test_a_big_budget_shows_everything_and_stays_under(shop):
    m = shop.repo_map(10_000)
    shown = entries(m)
    assert {"shop.money.legacy_rate", "shop.archive.old.unused_leaf",
            "shop.cart.Cart.describe"} <= shown.keys()
    assert m.tokens < 10_000


def test_any_token_counter_is_respected(click_map_index):
    """The fit trusts only measured counts: a counter that is not additive over lines (bytes
    / 3) is respected exactly too."""
    graph = read_code_graph(click_map_index.store().db)
    def by_bytes(text: str) -> int:
        return len(text.encode()) // 3
    for budget in (100, 700, 3000):
        m = build_repo_map(graph, budget, count=by_bytes)
        assert m.tokens == by_bytes(m.text) <= budget
        assert m.tokens >= budget - max(16, budget // 20)


def test_too_small_a_budget_gives_an_empty_map(shop):
    m = shop.repo_map(1)
    assert (m.text, m.tokens, m.files) == ("", 0, ())


def test_token_counter():
    assert count_tokens("") == 0
    line_a, line_b = "def parse_header(line):", "    return HttpClient(line).send()"
    assert count_tokens(f"{line_a}\n{line_b}") == count_tokens(line_a) + 1 + count_tokens(line_b)
    assert count_tokens("HttpClient") == 2  # Http + Client
    assert count_tokens("x") == 1 and count_tokens("…") == 1
    assert count_tokens("def parse_header(line):") == 5  # def, parse, _header, (line, ):
    text = Path(codesift.__file__).read_text(encoding="utf-8")
    assert 2.5 < len(text) / count_tokens(text) < 6  # code runs ~3-5 characters per token


# -- the ranking -----------------------------------------------------------------------

def test_a_central_function_outranks_a_leaf(shop):
    ranks = {s: e["rank"] for s, e in entries(shop.repo_map(10_000)).items()}
    assert ranks["shop.money.to_cents"] == 1, sorted(ranks.items(), key=lambda kv: kv[1])
    assert ranks["shop.money.to_cents"] < ranks["shop.money.format_price"] \
        < ranks["shop.money.legacy_rate"]
    assert ranks["shop.money.to_cents"] < ranks["shop.archive.old.unused_leaf"]


def test_a_central_function_outranks_a_leaf_on_click(click_map_index):
    m = click_map_index.repo_map(100_000)
    ranks = {s: e["rank"] for s, e in entries(m).items()}
    assert ranks["click.utils.echo"] <= 10  # called from everywhere (the core classes lead)
    assert ranks["click.core.Command"] <= 10 and ranks["click.core.Context"] <= 5
    assert ranks["click.utils.echo"] < ranks["click.termui.clear"]  # called from nowhere
    first = m.files[0]
    assert first.path.startswith("src/click/")


def test_test_code_votes_but_is_not_shown(shop):
    shown = entries(shop.repo_map(10_000))
    assert not any(s.startswith("tests.") for s in shown)
    about_tests = entries(shop.repo_map(10_000, query="which tests cover rounding?"))
    assert "tests.test_money.test_to_cents_rounds" in about_tests


def test_members_are_indented_under_their_class(shop):
    m = shop.repo_map(10_000)
    lines = m.text.splitlines()
    cart = next(i for i, line in enumerate(lines) if line.endswith("class Cart …"))
    assert lines[cart + 1].split("│")[1].startswith("    def __init__(self)")
    assert "shop/cart.py:" in lines
    depth = {e.definition.qualname: e.depth for f in m.files for e in f.entries}
    assert depth["shop.cart.Cart"] == 0 and depth["shop.cart.Cart.add"] == 1


def test_members_written_outside_their_type_are_shown_under_it(tmp_path):
    """Go methods follow other declarations in the file; the map puts them under their type."""
    root = write_tree(tmp_path / "repo", {"srv/server.go": """
        package srv

        type Server struct {
            addr string
        }

        type ID int

        func (s *Server) Addr() string { return s.addr }

        func Run(s *Server) string { return s.Addr() + s.Addr() }
    """})
    idx = open_shop(root, tmp_path / "index")
    try:
        lines = [line.split("│")[1] for line in idx.repo_map(500).text.splitlines()[1:]]
    finally:
        idx.close()
    server = lines.index("type Server struct …")
    assert lines[server + 1] == "    func (s *Server) Addr() string …"
    assert lines.index("type ID int …") > server + 1


def test_a_class_holding_a_ranked_member_is_shown_as_its_container(click_map_index):
    m = click_map_index.repo_map(300, focus=["Context.invoke"])
    shown = entries(m)
    assert shown["click.core.Context.invoke"]["rank"] == 1
    assert "click.core.Context" in shown
    text = m.text.splitlines()
    invoke = next(i for i, line in enumerate(text) if "def invoke(__self" in line)
    assert any("class Context" in line for line in text[:invoke])


# -- focus and query -------------------------------------------------------------------

def test_focus_on_a_file_puts_it_first(shop):
    plain = shop.repo_map(60)
    assert plain.files[0].path != "shop/archive/old.py"
    for focus in ("shop/archive/old.py", "shop/archive/", "old.py", "./shop/archive"):
        focused = shop.repo_map(60, focus=[focus])
        assert focused.files[0].path == "shop/archive/old.py", focus
        assert focused.tokens <= 60


def test_focus_on_a_symbol_ranks_it_first(shop):
    plain = entries(shop.repo_map(40))
    assert "shop.money.legacy_rate" not in plain
    for focus in ("shop.money.legacy_rate", "money.legacy_rate", "legacy_rate"):
        m = shop.repo_map(40, focus=[focus])
        assert entries(m)["shop.money.legacy_rate"]["rank"] == 1, focus
        assert m.files[0].path == "shop/money.py"


def test_focus_comes_before_what_the_query_names(shop):
    m = shop.repo_map(80, focus=["shop/archive/"], query="legacy_rate")
    assert m.files[0].path == "shop/archive/old.py"
    assert "shop.money.legacy_rate" in entries(m)


def test_focus_on_a_test_file_shows_test_code(shop):
    m = shop.repo_map(200, focus=["tests/test_money.py"])
    assert m.files[0].path == "tests/test_money.py"
    assert "tests.test_money.test_to_cents" in entries(m)


def test_focus_accepts_an_absolute_path_inside_the_repo(shop):
    m = shop.repo_map(60, focus=[str(shop.root / "shop" / "archive" / "old.py")])
    assert m.files[0].path == "shop/archive/old.py"


def test_focus_on_a_file_of_click_puts_it_first(click_map_index):
    for path in ("src/click/termui.py", "src/click/parser.py"):
        m = click_map_index.repo_map(512, focus=[path])
        assert m.files[0].path == path
        assert m.tokens <= 512


def test_query_identifiers_personalise_the_map(shop, click_map_index):
    assert "shop.money.legacy_rate" not in entries(shop.repo_map(40))
    m = shop.repo_map(40, query="why does legacy_rate ignore unknown currencies?")
    assert entries(m)["shop.money.legacy_rate"]["rank"] == 1
    progress = click_map_index.repo_map(200, query="how does ProgressBar.render_progress "
                                                   "draw the bar?")
    assert "click._termui_impl.ProgressBar.render_progress" in entries(progress)


def test_unknown_focus_and_bad_budgets_are_usage_errors(shop):
    with pytest.raises(SymbolNotFoundError) as err:
        shop.repo_map(100, focus=["no_such_thing"])
    assert "codesift graph defs" in err.value.hint
    for budget in (0, -5, 1.5, True):
        with pytest.raises(UsageError):
            shop.repo_map(budget)
    with pytest.raises(UsageError):
        shop.repo_map(100, focus=[" "])
    with pytest.raises(UsageError):
        shop.repo_map(100, query="  ")


# -- determinism -----------------------------------------------------------------------

def test_the_map_is_deterministic(shop, tmp_path):
    first = shop.repo_map(150, focus=["shop/cart.py"], query="refund notes")
    again = shop.repo_map(150, focus=["shop/cart.py"], query="refund notes")
    assert first == again
    # A second index of the same files, built separately, gives the same map.
    other = open_shop(write_tree(tmp_path / "copy", SHOP), tmp_path / "index")
    try:
        assert other.repo_map(150, focus=["shop/cart.py"], query="refund notes").to_dict() \
            == first.to_dict()
    finally:
        other.close()


def test_the_click_map_is_deterministic(click_map_index):
    maps = [click_map_index.repo_map(1024).to_dict() for _ in range(2)]
    assert maps[0] == maps[1]


# -- PageRank itself -------------------------------------------------------------------

def test_pagerank_matches_networkx():
    """Textbook mode (min_out_weight 0) against networkx's implementation, with weights,
    a dangling node and a personalisation vector."""
    nx = pytest.importorskip("networkx")
    edges = [(0, 1, 1.0), (0, 2, 0.5), (1, 2, 2.0), (2, 0, 1.0), (3, 2, 0.3), (1, 4, 1.0)]
    graph = weighted_graph(5, np.array([e[0] for e in edges]), np.array([e[1] for e in edges]),
                           np.array([e[2] for e in edges]))
    g = nx.DiGraph()
    g.add_nodes_from(range(5))
    g.add_weighted_edges_from(edges)
    for seeds in ({}, {3: 1.0, 4: 1.0}):
        ours = pagerank(graph, teleport(5, seeds, background=0.0) if seeds else None, tol=1e-12)
        theirs = nx.pagerank(g, personalization=seeds or None, tol=1e-12, max_iter=500)
        assert np.allclose(ours, [theirs[i] for i in range(5)], atol=1e-8)


def test_unsure_references_pass_on_only_what_they_weigh():
    # 0 -> 1 is a sure call; 2 -> 3 a guess of confidence 0.1: 3 gains far less from 2
    # than 1 does from 0, though both are each source's only reference.
    graph = weighted_graph(4, np.array([0, 2]), np.array([1, 3]), np.array([1.0, 0.1]))
    textbook = pagerank(graph)
    assert np.isclose(textbook[1], textbook[3])
    damped = pagerank(graph, min_out_weight=1.0)
    assert damped[1] > damped[3] and np.isclose(damped.sum(), 1.0)


def test_parallel_references_count_by_square_root():
    graph = weighted_graph(3, np.array([0, 0, 0, 0, 1]), np.array([2, 2, 2, 2, 1]),
                           np.array([1.0, 1.0, 1.0, 1.0, 1.0]))
    assert graph.src.tolist() == [0] and graph.dst.tolist() == [2]  # self-loop dropped
    assert graph.weight.tolist() == [2.0]  # four references: mean 1 x sqrt(4)


# -- the command -----------------------------------------------------------------------

def test_cli_json_shape(shop):
    result = run("map", "--repo", str(shop.root), "--index-dir", str(shop.db_path.parent),
                 "--budget", "200", "--focus", "shop/cart.py", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"budget", "tokens", "files", "text"}
    assert data["budget"] == 200 and data["tokens"] == count_tokens(data["text"]) <= 200
    assert data["files"][0]["path"] == "shop/cart.py"
    for f in data["files"]:
        assert f["path"] + ":" in data["text"]
        for d in f["definitions"]:
            assert set(d) == {"symbol", "kind", "signature", "start_line", "end_line", "rank",
                              "score"}
            assert 1 <= d["start_line"] <= d["end_line"]
            assert d["rank"] is None or d["rank"] >= 1
            assert f"{d['start_line']}│" in data["text"]


def test_cli_text_output(shop):
    result = run("map", "--repo", str(shop.root), "--index-dir", str(shop.db_path.parent),
                 "--budget", "100")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("shop/") and "│" in result.stdout and "…" in result.stdout
    assert "of 100 tokens" in result.stderr
    assert count_tokens(result.stdout.rstrip("\n")) <= 100
    again = run("map", "--repo", str(shop.root), "--index-dir", str(shop.db_path.parent),
                "--budget", "100")
    assert again.stdout == result.stdout


def test_cli_errors(shop, tmp_path):
    where = ["--repo", str(shop.root), "--index-dir", str(shop.db_path.parent)]
    for args, code, hint in ((["--budget", "0"], 2, "--budget 1024"),
                             (["--focus", "nowhere/nothing.py"], 2, "codesift graph defs"),
                             (["--query", ""], 2, "--query")):
        result = run("map", *where, *args)
        assert result.returncode == code, result.stderr
        first, second = result.stderr.strip().splitlines()[:2]
        assert first.startswith("error: ") and second.startswith("hint: ") and hint in second
        assert "Traceback" not in result.stderr and result.stdout == ""
    missing = run("map", "--repo", str(tmp_path), "--index-dir", str(tmp_path / "none"))
    assert missing.returncode == 1 and "codesift index" in missing.stderr


def test_cli_missing_graph_says_how_to_build_it(tmp_path):
    idx = open_shop(write_tree(tmp_path / "repo", SHOP), tmp_path / "index")
    idx.close()
    db = sqlite3.connect(tmp_path / "index" / "index.db")
    with db:
        db.execute("UPDATE meta SET value = 'stale' WHERE key = 'graph_version'")
    db.close()
    result = run("map", "--repo", str(tmp_path / "repo"), "--index-dir", str(tmp_path / "index"))
    assert result.returncode == 1
    assert "code graph" in result.stderr and "hint: run codesift index" in result.stderr
