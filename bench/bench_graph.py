"""Code graph accuracy and speed on the CPython standard library, beside grep in the same run.

    cd /work/main && .venv/bin/python bench/bench_graph.py [--out graph.json]   # ~1.5-2 min

On a private copy of the stdlib (lexical-only index, built in-process) it measures:
- speed: the graph's resolution pass (IndexSummary.graph.seconds) as a share of the whole
  index time; warm in-process `callers --depth 3` and `path` latency p50/p95 over sampled
  symbols and pairs (pairs with a path found by a breadth-first walk of the callees, and
  pairs without one); one `codesift graph callers X --depth 3` process from a shell;
- coverage: resolved vs unresolved references by edge kind, unresolved calls by reason
  (builtin, unknown receiver, a module imported from outside the repo, other), and the
  confidence of resolved calls (1.0 certain, lower = a guess);
- callers accuracy: for every public module-level function outside tests that is defined
  once and called from outside itself (or a seeded --sample of them), the call sites
  `callers` (depth 1) reports at min_confidence 1.0 / 0.5 / 0.0, those of a plain grep for
  `\\bname\\s*\\(` (its def line removed) and of that grep kept to files with an import line
  naming the module, scored against call sites found independently with Python's `ast` and
  its scoping rules (bench/_callsites.py); micro and macro precision, recall and F1, and the
  false positives / negatives with what codesift recorded there (bench/_graph_accuracy.py).
Files Python cannot parse or codesift did not index are left out of every count.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import sysconfig
import tempfile
from collections import Counter, defaultdict, deque
from pathlib import Path

import _common  # noqa: F401  (sets the import path)
from _common import environment, timed, write_json
from _graph_accuracy import BANDS, callers_accuracy, coverage
from bench_speed import percentile, run_timed

import codesift

PUBLISHED = ("code-graph-rag reports call-site F1 0.957 against grep's 0.789 on django "
             "(another corpus, another ground truth)")


# -- the corpus and its index ---------------------------------------------------------------

def build_index(corpus: Path, index_dir: Path, reuse: bool) -> tuple[codesift.Index, dict]:
    idx = codesift.open_index(corpus, index_dir=str(index_dir), dense=False)
    if reuse and idx.exists:
        summary = idx.update()
        return idx, {"reused": True, "files_changed": summary.files_indexed}
    shutil.rmtree(index_dir, ignore_errors=True)
    summary, ms = timed(idx.update)
    g = summary.graph
    return idx, {"reused": False, "index_seconds": ms / 1000, "graph_seconds": g.seconds,
                 "graph_share": g.seconds / (ms / 1000), "files": summary.files_indexed,
                 "chunks": summary.chunks_written, "edges": g.edges,
                 "unresolved_edges": g.unresolved, "files_resolved": g.files_resolved}


# -- latency --------------------------------------------------------------------------------

def latency(idx, corpus: Path, index_dir: Path, n: int, depth: int, path_depth: int,
            cli_rounds: int, seed: int) -> dict:
    db, graph = idx.store().db, idx.graph()
    rng = random.Random(seed)
    targets = sorted(db.execute(
        "SELECT DISTINCT dst_path, dst FROM edges WHERE kind = 'calls' AND dst_path IS NOT NULL"
        " AND dst != ''"))
    roots = rng.sample(targets, min(n, len(targets)))
    graph.callers([graph.node(*roots[0])], depth)  # warm-up
    callers_ms, hits = [], []
    for key in roots:
        found, ms = timed(graph.callers, [graph.node(*key)], depth)
        callers_ms.append(ms)
        hits.append(len(found))
    out = {"callers_ms": callers_ms, "callers_hits": hits, "depth": depth, "path_depth": path_depth}
    out.update(path_latency(db, graph, rng, n, path_depth))
    cli = []
    for key in roots[:cli_rounds]:
        seconds, _, _ = run_timed([sys.executable, "-m", "codesift", "graph", "callers", key[1],
                                   "--depth", str(depth), "--repo", str(corpus),
                                   "--index-dir", str(index_dir), "--json"])
        cli.append(seconds * 1000)
    out["cli_callers_ms"] = cli
    return out


def path_latency(db, graph, rng: random.Random, n: int, max_depth: int) -> dict:
    """Pairs with a shortest call path of 1..max_depth hops (found here by BFS over the same
    edges) and pairs with none; `path` must agree with the walk."""
    adj: dict[tuple, set] = defaultdict(set)
    for path, src, dst_path, dst in db.execute(
            "SELECT f.path, e.src, e.dst_path, e.dst FROM edges e JOIN files f ON f.id = e.src_file"
            " WHERE e.kind = 'calls' AND e.dst_path IS NOT NULL"):
        adj[(path, src)].add((dst_path, dst))
    sources = sorted(k for k in adj if k[1])
    nodes = sorted({d for ds in adj.values() for d in ds if d[1]})
    found, none = [], []
    while len(found) < n or len(none) < max(1, n // 5):
        src = rng.choice(sources)
        dist = bfs(adj, src, max_depth)
        by_depth = defaultdict(list)
        for node, d in dist.items():
            if d and node[1]:
                by_depth[d].append(node)
        if by_depth and len(found) < n:
            d = rng.choice(sorted(by_depth))
            found.append((src, rng.choice(sorted(by_depth[d])), d))
        far = rng.choice(nodes)
        if far not in dist and len(none) < max(1, n // 5):
            none.append((src, far, None))
    out: dict = {"path_found_ms": [], "path_none_ms": [], "path_mismatches": 0,
                 "path_hops": Counter(d for *_, d in found)}
    for src, dst, d in found + none:
        res, ms = timed(graph.path, [graph.node(*src)], [graph.node(*dst)], max_depth)
        out["path_found_ms" if d else "path_none_ms"].append(ms)
        out["path_mismatches"] += (len(res) - 1 != d) if d else bool(res)
    return out


def bfs(adj: dict, start: tuple, max_depth: int) -> dict[tuple, int]:
    dist = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if dist[node] >= max_depth:
            continue
        for nxt in adj.get(node, ()):
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                queue.append(nxt)
    return dist


# -- the report -----------------------------------------------------------------------------

def report(r: dict) -> None:
    ix, lat = r["index"], r["latency"]
    print(f"\ncorpus: {r['corpus']} (copy), lexical-only index\n")
    print("| measure | value | note |\n|---|---|---|")
    if not ix["reused"]:
        print(f"| cold index, lexical only, in-process | {ix['index_seconds']:.1f} s | "
              f"{ix['files']:,} files, {ix['chunks']:,} chunks |")
        print(f"| graph resolution pass | {ix['graph_seconds']:.1f} s = "
              f"**{100 * ix['graph_share']:.0f}% of index time** | {ix['edges']:,} edge rows, "
              f"{ix['unresolved_edges']:,} unresolved, {ix['files_resolved']:,} files |")
    h = lat["callers_hits"]
    rows = (("callers_ms", f"`callers` depth {lat['depth']}, in-process",
             f"{len(h)} called symbols; hits p50 {percentile(h, 50)}, p95 {percentile(h, 95)}, "
             f"max {max(h)}"),
            ("path_found_ms", f"`path` max depth {lat['path_depth']}, a path exists",
             f"{len(lat['path_found_ms'])} pairs, hops "
             + ", ".join(f"{k}: {v}" for k, v in sorted(lat["path_hops"].items()))),
            ("path_none_ms", f"`path` max depth {lat['path_depth']}, no path",
             f"{len(lat['path_none_ms'])} pairs; `path` disagreed with the BFS on "
             f"{lat['path_mismatches']}"),
            ("cli_callers_ms", f"one `codesift graph callers X --depth {lat['depth']}` from a shell",
             f"{len(lat['cli_callers_ms'])} runs, process start-up included"))
    for key, label, note in rows:
        t = lat[key]
        print(f"| {label} | p50 {percentile(t, 50):.1f} ms, p95 **{percentile(t, 95):.1f} ms** "
              f"| {note} |")
    report_coverage(r["coverage"])
    report_accuracy(r["accuracy"])
    print("\nbenchmark phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in r["phase_seconds"].items()))


def report_coverage(cov: dict) -> None:
    print("\n**References resolved, by edge kind** (a resolved reference may have several "
          "candidate edges)\n")
    print("| kind | references | resolved | unresolved | resolved % | edge rows of resolved |")
    print("|---|---|---|---|---|---|")
    for kind, k in sorted(cov["by_kind"].items()):
        print(f"| {kind} | {k['refs']:,} | {k['resolved']:,} | {k['refs'] - k['resolved']:,} | "
              f"{100 * k['resolved'] / k['refs']:.1f}% | {k['edge_rows']:,} |")
    un = cov["unresolved_calls"]
    total = sum(un.values())
    groups = Counter()
    for key, n in un.items():
        groups[key.split(":")[0]] += n
    print(f"\n**Unresolved calls by reason** ({total:,})\n\n| reason | calls | share |\n|---|---|---|")
    for group, n in groups.most_common():
        print(f"| **{group}** | {n:,} | {100 * n / total:.1f}% |")
        for key, m in un.items():
            if key.split(":")[0] == group:
                print(f"| &nbsp; {key.split(': ', 1)[1]} | {m:,} | {100 * m / total:.1f}% |")
    b = cov["bands"]
    n_refs, n_rows = sum(b["refs"].values()), sum(b["edge_rows"].values())
    print(f"\n**Resolved calls by confidence** ({b['single_candidate']:,} references with one "
          f"candidate, {b['several_candidates']:,} with several)\n")
    print("| confidence | references | share | edge rows | share |\n|---|---|---|---|---|")
    for _, label in BANDS:
        refs, rows = b["refs"].get(label, 0), b["edge_rows"].get(label, 0)
        print(f"| {label} | {refs:,} | {100 * refs / n_refs:.1f}% | {rows:,} | "
              f"{100 * rows / n_rows:.1f}% |")


def report_accuracy(acc: dict) -> None:
    which = (f"all {acc['eligible']:,} eligible functions" if acc["sampled"] == acc["eligible"]
             else f"{acc['sampled']} functions sampled of {acc['eligible']:,} eligible, seed {acc['seed']}")
    print(f"\n**`callers` call sites against an `ast` ground truth** ({which}; "
          f"grep = {acc['grep_tool']}; "
          f"{PUBLISHED})\n")
    print("| system | sites found | TP | FP | FN | precision | recall | F1 | macro F1 | recall, "
          "same file | recall, other files |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for name, s in acc["systems"].items():
        print(f"| {name} | {s['found']:,} | {s['tp']:,} | {s['fp']:,} | {s['fn']:,} | "
              f"{s['precision']:.3f} | {s['recall']:.3f} | **{s['f1']:.3f}** | "
              f"{s['macro_f1']:.3f} | {s['recall_same_file']:.3f} | {s['recall_other_files']:.3f} |")
    print(f"\nGround truth: {acc['files_scanned']:,} files parsed by `ast` in "
          f"{acc['ground_truth_seconds']:.0f} s ({len(acc['files_unparsed'])} unparsable, "
          f"{len(acc['files_not_indexed'])} not indexed by codesift: left out); codesift recorded "
          f"no reference in {len(acc['files_without_references'])} files that have calls: "
          + ", ".join(acc["files_without_references"][:5]))
    for kind in ("fp", "fn"):
        label = "false positives" if kind == "fp" else "false negatives"
        modes = acc[f"{kind}_modes"]
        print(f"\ncodesift@0.0 {label} by what codesift recorded: "
              + "; ".join(f"{m} {n}" for m, n in modes.items()))
        if kind == "fn":
            print("\nfalse negatives by how the `ast` truth saw the callee's first name bound: "
                  + "; ".join(f"{m} {n}" for m, n in acc["fn_by_head_binding"].items()))
        for e in acc[f"{kind}_examples"]:
            cs = ", ".join(f"{x['name']}->{x['dst'] or 'unresolved'} ({x['confidence']})"
                           for x in e["codesift"][:3]) or "-"
            ast_view = "; ".join(f"{c['callee']}->{','.join(c['targets']) or 'none'}"
                                 for c in e["ast"][:3]) or "-"
            print(f"- `{e['function']}` at {e['site']} [{e['mode']}]: `{e['source']}`\n"
                  f"  codesift: {cs} | ast: {ast_view}")


# -- main -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=sysconfig.get_paths()["stdlib"])
    p.add_argument("--work", type=Path, help="keep the copy and index here (default: a temp dir,"
                   " removed afterwards)")
    p.add_argument("--reuse", action="store_true", help="with --work: reuse its copy and index "
                   "(no index timing)")
    p.add_argument("--sample", type=int, default=0, help="functions for precision/recall "
                   "(default 0: every eligible function; 60 gives a quick, noisier figure)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--latency-n", type=int, default=100, help="symbols / pairs timed")
    p.add_argument("--depth", type=int, default=3, help="callers depth timed")
    p.add_argument("--path-depth", type=int, default=4, help="path max depth timed")
    p.add_argument("--cli-rounds", type=int, default=10)
    p.add_argument("--examples", type=int, default=10, help="false positives/negatives shown")
    p.add_argument("--out", help="write everything as JSON here")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="codesift-graph-"))
    corpus, index_dir = work / "stdlib", work / "index"
    if not (args.reuse and corpus.exists()):
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.copytree(args.corpus, corpus,
                        ignore=shutil.ignore_patterns("__pycache__", "site-packages"))
    results: dict = {"corpus": args.corpus, "environment": environment(),
                     "command": " ".join(sys.argv)}
    try:
        phases = results["phase_seconds"] = {}
        (idx, results["index"]), phases["index"] = timed(build_index, corpus, index_dir, args.reuse)
        with idx:
            results["coverage"], phases["coverage"] = timed(coverage, idx.store().db)
            results["accuracy"], phases["accuracy"] = timed(
                callers_accuracy, idx, corpus, args.sample, args.seed, args.examples)
            results["latency"], phases["latency"] = timed(
                latency, idx, corpus, index_dir, args.latency_n, args.depth, args.path_depth,
                args.cli_rounds, args.seed)
        for key in phases:
            phases[key] /= 1000
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    report(results)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
