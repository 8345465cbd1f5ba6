"""Synthesis end to end over one index: read the corpus, make the tree pairs and (where
the repository has history) the commit pairs, add hard negatives, balance the kinds, and
write them as JSON lines with their provenance."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from codesift.errors import UsageError
from codesift.tune.corpus import DEFINITION_KINDS, read_corpus
from codesift.tune.history import TRAINING_MINING, commit_pairs
from codesift.tune.negatives import NegativeMiner
from codesift.tune.records import Pair
from codesift.tune.synth import dedupe, tree_pairs

# The most each kind may take of a run's pairs: commit messages are closest to what users
# ask; identifier questions and caller->callee pairs are plentiful and weaker.
KIND_SHARE = {"commit": 0.4, "doc": 0.2, "llm": 0.2, "code2doc": 0.1, "ident": 0.12,
              "section": 0.08, "test": 0.1, "call": 0.08, "impl": 0.05, "error": 0.05}


@dataclass(frozen=True, slots=True)
class SynthesisParams:
    seed: int = 0
    max_pairs: int = 20_000
    history: bool = True
    consistency_k: int = 20
    negatives: bool = True
    max_commits: int = TRAINING_MINING.max_queries  # commits mined into pairs, at most


@dataclass(frozen=True, slots=True)
class PairSet:
    pairs: tuple[Pair, ...]
    found: dict[str, int]  # pairs made per kind, before balancing
    stats: dict = field(default_factory=dict)  # commits mined, inconsistent, seconds


def synthesize(index, params: SynthesisParams = SynthesisParams(),
               extra: Iterable[Pair] = (), progress: Callable[[str], None] | None = None
               ) -> PairSet:
    """Pairs for `index` (an api.Index over a built index). `extra`: pairs from elsewhere
    (LLM-written questions) that join the balance."""
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    store = index.store()
    corpus = read_corpus(store.db)
    if not corpus.definitions:
        raise UsageError(f"no definitions in the index of {index.root}",
                         hint="tune needs source code codesift can parse")
    say(f"{len(corpus.definitions)} definitions, {len(corpus.sections)} doc sections")
    pairs = tree_pairs(corpus, params.seed)
    stats: dict = {"definitions": len(corpus.definitions)}
    if params.history and (index.root / ".git").exists():
        say("mining commit history")
        got = commit_pairs(index.root, lambda q, k: index.search(q, k=k),
                           lambda p, s, e: code_at(store, p, s, e),
                           params=replace(TRAINING_MINING, max_queries=params.max_commits), consistency_k=params.consistency_k)
        pairs += got.pairs
        stats.update(commits_mined=got.mined, commit_pairs_inconsistent=got.inconsistent)
    pairs = dedupe([*pairs, *extra])
    found = dict(Counter(p.kind for p in pairs))
    chosen = balance(pairs, params.max_pairs, params.seed)
    if params.negatives:
        say(f"hard negatives for {len(chosen)} pairs")
        chosen = NegativeMiner(store).add(chosen)
    stats["seconds"] = round(time.perf_counter() - started, 2)
    stats["with_negative"] = sum(1 for p in chosen if p.negatives)
    return PairSet(tuple(chosen), found, stats)


def code_at(store, path: str, start: int, end: int) -> str | None:
    """The innermost definition chunk of `path` holding lines start..end (its first part)."""
    marks = ",".join("?" * len(DEFINITION_KINDS))
    row = store.db.execute(
        f"SELECT context_text FROM chunks WHERE path = ? AND start_line <= ? AND end_line >= ?"
        f" AND kind IN ({marks}) ORDER BY end_line - start_line LIMIT 1",
        (path, start, start, *DEFINITION_KINDS)).fetchone()
    return row[0] if row else None


def balance(pairs: Sequence[Pair], max_pairs: int, seed: int = 0) -> list[Pair]:
    """At most `max_pairs`, each kind up to its share (KIND_SHARE), the rest filled from
    what is left, drawn at random with `seed`; returned shuffled."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Pair]] = {}
    for p in pairs:
        by_kind.setdefault(p.kind, []).append(p)
    chosen: list[Pair] = []
    rest: list[Pair] = []
    for kind in sorted(by_kind):
        group = by_kind[kind]
        rng.shuffle(group)
        cap = int(KIND_SHARE.get(kind, 0.1) * max_pairs)
        chosen += group[:cap]
        rest += group[cap:]
    rng.shuffle(rest)
    chosen += rest[:max(0, max_pairs - len(chosen))]
    rng.shuffle(chosen)
    return chosen[:max_pairs]


def write_pairs(pairs: Iterable[Pair], path: Path) -> int:
    """JSON lines, written to a temp file and renamed: never a half-written set."""
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for p in pairs:
            fh.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def read_pairs(path: Path) -> list[Pair]:
    with path.open(encoding="utf-8") as fh:
        return [Pair.from_dict(json.loads(line)) for line in fh if line.strip()]
