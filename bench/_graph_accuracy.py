"""Accuracy of the code graph for bench_graph.py: references resolved or not (and why), and
`callers` call sites scored against the `ast` ground truth of _callsites.py, beside grep.
"""

from __future__ import annotations

import builtins
import random
import re
import shutil
import subprocess
import time
from collections import Counter, defaultdict, deque
from pathlib import Path

from _callsites import CallSites, Site, module_name

THRESHOLDS = (1.0, 0.5, 0.3, 0.0)
BANDS = ((1.0, "1.0 (certain)"), (0.9, "0.9-1.0"), (0.6, "0.6-0.9"), (0.4, "0.4-0.6"),
         (0.1, "0.1-0.4"), (0.0, "< 0.1"))
BUILTINS = frozenset(dir(builtins))
_HEAD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")

# -- coverage: resolved vs unresolved ------------------------------------------------------

def coverage(db) -> dict:
    """References (one per use; a resolved one may have several candidate edges) by kind."""
    kinds: dict[str, dict] = defaultdict(lambda: {"refs": 0, "resolved": 0, "edge_rows": 0})
    for kind, resolved, refs, rows in db.execute(
            "SELECT kind, resolved, COUNT(*), SUM(n) FROM (SELECT kind, MAX(dst_path IS NOT NULL)"
            " resolved, COUNT(*) n FROM edges GROUP BY src_file, src, kind, name, line)"
            " GROUP BY kind, resolved"):
        k = kinds[kind]
        k["refs"] += refs
        if resolved:
            k["resolved"], k["edge_rows"] = refs, rows
    return {"by_kind": dict(kinds), "bands": confidence_bands(db),
            "unresolved_calls": unresolved_reasons(db)}


def band_of(conf: float) -> str:
    return next(label for low, label in BANDS if conf >= low - 1e-9)


def confidence_bands(db) -> dict:
    """Resolved calls by confidence: per reference (its candidates share it) and per edge row."""
    refs, rows = Counter(), Counter()
    single = several = 0
    for conf, n in db.execute(
            "SELECT MAX(confidence), COUNT(*) FROM edges WHERE kind = 'calls' AND dst_path IS NOT"
            " NULL GROUP BY src_file, src, name, line"):
        refs[band_of(conf)] += 1
        rows[band_of(conf)] += n
        single, several = single + (n == 1), several + (n > 1)
    return {"refs": dict(refs), "edge_rows": dict(rows), "single_candidate": single,
            "several_candidates": several}


def unresolved_reasons(db) -> dict:
    imports: dict[str, dict[str, bool]] = defaultdict(dict)
    for path, name, resolved in db.execute(
            "SELECT f.path, e.name, MAX(e.dst_path IS NOT NULL) FROM edges e JOIN files f"
            " ON f.id = e.src_file WHERE e.kind = 'imports' GROUP BY f.path, e.name"):
        alias = bound_name(name)
        if alias:
            seen = imports[path]
            seen[alias] = seen.get(alias, False) or bool(resolved)
    defs = Counter(n for (n,) in db.execute(
        "SELECT name FROM symbols WHERE kind IN ('function', 'class')"))
    reasons: Counter = Counter()
    for path, name in db.execute(
            "SELECT f.path, e.name FROM edges e JOIN files f ON f.id = e.src_file"
            " WHERE e.kind = 'calls' AND e.dst_path IS NULL"):
        reasons[unresolved_reason(name, imports.get(path, {}), defs)] += 1
    return {f"{group}: {detail}": n for (group, detail), n in reasons.most_common()}


def bound_name(import_name: str) -> str | None:
    """The name an import reference binds: "os.path" -> os, "json:loads as l" -> l."""
    target, _, alias = import_name.partition(" as ")
    if alias:
        return alias.strip()
    if ":" in target:
        member = target.split(":", 1)[1]
        return None if member == "*" else member.split(".")[0]
    return target.lstrip(".").split(".")[0] or None


def unresolved_reason(name: str, imports: dict[str, bool], defs: Counter) -> tuple[str, str]:
    m = _HEAD.match(name)
    if not m:
        return "unknown receiver", "literal or parenthesised receiver (''.join, (a or b).c)"
    head, after = m.group(), name[m.end():]
    if not after:
        if head in BUILTINS:
            return "builtin", "builtin function or class"
        if head in imports:
            return (("other", "name imported from an in-repo module, not found there") if
                    imports[head] else ("outside import", "name imported from outside the repo"))
        if defs[head] > 8:
            return "other", "bare name with more than 8 definitions"
        if defs[head] == 0:
            return "other", "bare name defined nowhere (variable, parameter, C function)"
        return "other", "bare name defined elsewhere, not linked"
    if after[0] in "([":
        if head == "super":
            return "unknown receiver", "super().member (base outside the repo or not found)"
        return "unknown receiver", "call or subscript result (f().g, a[0].h)"
    if head in ("self", "cls"):
        return "unknown receiver", "self./cls. member not found"
    if head in imports:
        return (("other", "member of an in-repo import not found (C re-export, assignment)")
                if imports[head] else ("outside import", "module imported from outside the repo"))
    if head in BUILTINS:
        return "builtin", "member of a builtin (str.join, dict.fromkeys)"
    return "unknown receiver", "variable receiver (x.foo)"


# -- callers: precision and recall ----------------------------------------------------------

def sample_functions(truth: dict, sites: CallSites, valid: set[str], n: int, seed: int):
    """(path, def binding) of public module-level functions called from outside themselves."""
    eligible = []
    for path, b in sites.candidates():
        calls = {s for s in truth.get((b.module, b.name), ()) if s[0] in valid}
        if path in valid and any(p != path or not b.line <= ln <= b.end for p, ln in calls):
            eligible.append((path, b))
    eligible.sort(key=lambda e: (e[0], e[1].line))
    k = len(eligible) if n <= 0 else min(n, len(eligible))
    return random.Random(seed).sample(eligible, k), len(eligible)


def codesift_sites(graph, db, path: str, b, valid: set[str]) -> dict[float, set[Site]]:
    rows = db.execute(
        "SELECT s.qualname, s.start_line FROM symbols s JOIN files f ON f.id = s.file_id"
        " WHERE f.path = ? AND s.name = ? AND s.kind = 'function' AND s.parent IS NULL",
        (path, b.name)).fetchall()
    if not rows:
        return {t: set() for t in THRESHOLDS}
    qualname = min(rows, key=lambda r: abs(r[1] - b.line))[0]
    node = graph.node(path, qualname)
    return {t: {(h.node.path, h.line) for h in graph.callers([node], 1, t)
                if h.edge == "calls" and h.node.path in valid} for t in THRESHOLDS}


def grep_sites(corpus: Path, names: list[str], valid: set[str]) -> tuple[dict[str, set[Site]], str]:
    """Lines matching \\bname\\s*\\( per name: one ripgrep scan (or Python's re) for all names."""
    pattern = r"\b(" + "|".join(sorted(set(names))) + r")\s*\("
    found: dict[str, set[Site]] = defaultdict(set)
    each = re.compile(pattern)
    if shutil.which("rg"):
        out = subprocess.run(["rg", "-n", "--no-heading", "--no-ignore", "--hidden", "-g", "*.py",
                              "-e", pattern, "."], cwd=corpus, capture_output=True).stdout
        lines = (ln.split(":", 2) for ln in out.decode("utf-8", "replace").splitlines())
        tool = "ripgrep"
    else:
        lines = ((p, str(i), text) for p in valid for i, text in enumerate(
            (corpus / p).read_text("latin-1").splitlines(), start=1))
        tool = "python re"
    for path, line, text in lines:
        path = path.removeprefix("./")
        if path in valid:
            for m in each.finditer(text):
                found[m.group(1)].add((path, int(line)))
    return found, tool


_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^#\n;]+)", re.M)
_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([^#\n;)]+)", re.M)


def imported_modules(corpus: Path, path: str) -> set[str]:
    """Modules a file's import lines name, read with regular expressions as a grep user would
    (`import a.b` -> a, a.b; `from .x import y` -> pkg.x, pkg.x.y)."""
    text = (corpus / path).read_text("utf-8", "replace")
    out: set[str] = set()
    for m in _IMPORT.finditer(text):
        for part in m.group(1).split(","):
            name = part.split(" as ")[0].strip()
            out.update(".".join(name.split(".")[:i + 1]) for i in range(name.count(".") + 1))
    package = module_name(path).split(".")
    package = package if path.endswith("__init__.py") else package[:-1]
    for m in _FROM.finditer(text):
        spec = m.group(1)
        dots = len(spec) - len(spec.lstrip("."))
        base = package[: len(package) - dots + 1] if dots else []
        module = ".".join([*base, spec[dots:]] if spec[dots:] else base)
        out.add(module)
        out.update(f"{module}.{n.split(' as ')[0].strip()}" for n in m.group(2).split(","))
    return out


def import_filtered(hits: set[Site], module: str, def_path: str, corpus: Path,
                    cache: dict[str, set[str]]) -> set[Site]:
    """grep hits kept in the defining file and in files with an import line naming the module."""
    out = set()
    for path, line in hits:
        if path not in cache:
            cache[path] = imported_modules(corpus, path)
        if path == def_path or module in cache[path]:
            out.add((path, line))
    return out


def score(found: set[Site], truth: set[Site], same_file: str) -> Counter:
    c = Counter(found=len(found), tp=len(found & truth), fp=len(found - truth),
                fn=len(truth - found))
    c["truth_same"] = sum(p == same_file for p, _ in truth)
    c["tp_same"] = sum(p == same_file for p, _ in found & truth)
    c["f1_sum"] = 2 * c["tp"] / (2 * c["tp"] + c["fp"] + c["fn"]) if truth or found else 1.0
    c["functions"] = 1
    return c


def prf(c: Counter) -> dict:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    other = c["tp"] + c["fn"] - c["truth_same"]
    return {**c, "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "macro_f1": c["f1_sum"] / c["functions"] if c["functions"] else 0.0,
            "recall_same_file": c["tp_same"] / c["truth_same"] if c["truth_same"] else 0.0,
            "recall_other_files": (c["tp"] - c["tp_same"]) / other if other else 0.0}


def callers_accuracy(idx, corpus: Path, n: int, seed: int, n_examples: int) -> dict:
    started = time.perf_counter()
    sites = CallSites(corpus)
    truth = sites.all_sites()
    db, graph = idx.store().db, idx.graph()
    indexed = {p for (p,) in db.execute("SELECT path FROM files WHERE language = 'python'")}
    valid = set(sites.files) & indexed
    sample, n_eligible = sample_functions(truth, sites, valid, n, seed)
    ground_seconds = time.perf_counter() - started
    grep, tool = grep_sites(corpus, [b.name for _, b in sample], valid)
    totals = {name: Counter() for name in (*(f"codesift@{t}" for t in THRESHOLDS), "grep",
                                           "grep, import-filtered")}
    per_function, misses, imports = [], [], {}
    for path, b in sample:
        gold = {s for s in truth[(b.module, b.name)] if s[0] in valid}
        found = codesift_sites(graph, db, path, b, valid)
        found["grep"] = grep.get(b.name, set()) - {(path, b.line)}
        found["grep, import-filtered"] = import_filtered(found["grep"], b.module, path, corpus,
                                                         imports)
        row = {"function": f"{b.module}.{b.name}", "path": path, "line": b.line,
               "truth": len(gold)}
        for key, got in found.items():
            name = key if isinstance(key, str) else f"codesift@{key}"
            c = score(got, gold, path)
            totals[name].update(c)
            row[name] = {"found": c["found"], "tp": c["tp"], "fp": c["fp"], "fn": c["fn"]}
        per_function.append(row)
        misses.append((b, path, found[0.0] - gold, gold - found[0.0]))
    with_refs = {p for (p,) in db.execute(
        "SELECT DISTINCT f.path FROM refs r JOIN files f ON f.id = r.file_id")}
    lost = sorted(p for p in valid if p not in with_refs and sites.files[p].calls)
    return {"sampled": len(sample), "eligible": n_eligible, "seed": seed, "grep_tool": tool,
            "ground_truth_seconds": ground_seconds, "files_scanned": len(sites.files),
            "files_unparsed": sites.unparsed, "files_not_indexed": sorted(set(sites.files) - indexed),
            "files_without_references": lost,
            "systems": {k: prf(c) for k, c in totals.items()}, "per_function": per_function,
            **failure_modes(misses, sites, db, corpus, n_examples, seed, set(lost))}


# -- what went wrong where ---------------------------------------------------------------------

class CallEdges:
    """A file's call edges by (line, bare name), loaded once per file."""

    def __init__(self, db) -> None:
        self.db = db
        self.files: dict[str, dict[tuple[int, str], list[dict]]] = {}

    def at(self, path: str, line: int, bares: set[str]) -> list[dict]:
        if path not in self.files:
            by_site: dict[tuple[int, str], list[dict]] = defaultdict(list)
            for ln, bare, n, dp, d, c in self.db.execute(
                    "SELECT e.line, e.bare, e.name, e.dst_path, e.dst, e.confidence FROM files f"
                    " JOIN edges e ON e.src_file = f.id WHERE f.path = ? AND e.kind = 'calls'",
                    (path,)):
                by_site[(ln, bare)].append(
                    {"name": n, "dst": f"{dp}:{d}" if dp else None, "confidence": c})
            self.files[path] = by_site
        return [e for bare in sorted(bares) for e in self.files[path].get((line, bare), ())]


def fn_mode(edges: list[dict], near: list[dict], ast_calls: list[dict], lost: bool) -> str:
    if lost:
        return "file has no references (tree-sitter parse failed)"
    if not edges:
        return "call recorded on a nearby line" if near else "no call reference recorded"
    dsts = {e["dst"].split(":", 1)[1] for e in edges if e["dst"]}
    if not dsts:
        return "unresolved"
    if dsts & {t for c in ast_calls for t in c["targets"]}:
        return "resolved to one alternative only (conditional import or def)"
    return "resolved to other definitions"


def fp_mode(edges: list[dict], target: str) -> str:
    mine = [e for e in edges if e["dst"] and e["dst"].endswith(":" + target)] or edges
    conf = max((e["confidence"] for e in mine), default=0.0)
    name = mine[0]["name"]
    head = _HEAD.match(name)
    if "." not in name:
        form = "builtin name" if name in BUILTINS else "bare name"
    elif head and head.group() in ("self", "cls"):
        form = "self./cls. call"
    else:
        form = "dotted call"
    return f"{form}, confidence {band_of(conf)}"


def failure_modes(misses, sites: CallSites, db, corpus: Path, n_examples: int, seed: int,
                  lost: set[str]) -> dict:
    lines: dict[str, list[str]] = {}

    def text(path: str, line: int) -> str:
        if path not in lines:
            lines[path] = (corpus / path).read_text("utf-8", "replace").splitlines()
        return lines[path][line - 1].strip()[:160] if line <= len(lines[path]) else ""

    out: dict[str, list[dict]] = {"fp": [], "fn": []}
    calls = CallEdges(db)
    for b, def_path, false_pos, false_neg in misses:
        qual = f"{b.module}.{b.name}"
        for kind, found in (("fp", false_pos), ("fn", false_neg)):
            for path, line in sorted(found):
                ast_calls = sites.calls_at(path, line)
                bares = {b.name} | {c["callee"].split(".")[-1] for c in ast_calls
                                    if qual in c["targets"]}
                edges = calls.at(path, line, bares)
                if kind == "fp":
                    mode = fp_mode(edges, qual) if edges else "edge on another line"
                else:
                    near = [e for d in (-2, -1, 1, 2) for e in calls.at(path, line + d, bares)]
                    mode, edges = fn_mode(edges, near, ast_calls, path in lost), edges or near
                out[kind].append({"function": qual, "site": f"{path}:{line}", "mode": mode,
                                  "source": text(path, line), "codesift": edges[:4],
                                  "codesift_edges": len(edges), "ast": ast_calls})
    result = {"fn_by_head_binding": dict(Counter(
        f"{i['mode']} / {head_binding(i)}" for i in out["fn"]).most_common())}
    for kind, items in out.items():
        result[f"{kind}_modes"] = dict(Counter(i["mode"] for i in items).most_common())
        result[f"{kind}_examples"] = spread(items, n_examples, seed)
        result[f"{kind}_all"] = items
    return result


def head_binding(item: dict) -> str:
    """How the ground truth saw the callee's first name bound at a missed call site."""
    kinds = {h for c in item["ast"] if item["function"] in c["targets"] for h in c["head"]}
    return ", ".join(sorted(kinds)) or "?"


def spread(items: list[dict], n: int, seed: int) -> list[dict]:
    """Up to n items, one mode and function at a time, so one noisy function cannot fill them."""
    rng = random.Random(seed)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for item in items:
        groups[(item["mode"], item["function"])].append(item)
    keys = sorted(groups)
    rng.shuffle(keys)
    keys.sort(key=lambda k: k[0])  # stable: each mode keeps its shuffled functions together
    by_mode: dict[str, deque] = defaultdict(deque)
    for k in keys:
        by_mode[k[0]].append(rng.choice(groups[k]))
    out = []
    while len(out) < n and any(by_mode.values()):
        for q in by_mode.values():
            if q and len(out) < n:
                out.append(q.popleft())
    return out
