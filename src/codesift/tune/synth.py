"""Training pairs read from a repository's own tree (no history): docs and their code
both ways, names and raised messages as questions, tests and the code they exercise,
callers and callees, implementations and what they implement, doc sections and the
definitions they name. Each generator is a pure function of the corpus."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from codesift.tune.corpus import Corpus, Link
from codesift.tune.records import Definition, Pair, Provenance
from codesift.tune.text import (first_paragraph, first_sentence, informative, mask_names,
                                name_words, strip_doc)

MAX_QUERY_CHARS = 1200  # a longer anchor is cut: the model's window is 256 tokens anyway


def _pair(kind: str, query: str, positive: str, d: Definition, commit: str = "") -> Pair:
    return Pair(kind, query.strip()[:MAX_QUERY_CHARS], positive.strip(),
                Provenance(d.path, d.qualname, commit))


def _sources(corpus: Corpus) -> list[Definition]:
    return [d for d in corpus.definitions if not d.is_test]


def doc_pairs(corpus: Corpus, rng: random.Random, mask_rate: float = 0.5) -> Iterator[Pair]:
    """A doc's summary -> the definition without its doc (names masked in `mask_rate` of
    them), and the reverse (Code->Text): the code, doc removed -> the summary."""
    for d in _sources(corpus):
        summary = first_paragraph(d.doc)
        if not informative(summary, 4):
            continue
        code = strip_doc(d.code, d.doc)
        if code == d.code and summary in d.code:
            continue  # the doc could not be taken out: the pair would be a copy
        shown = mask_names(code, [d.name]) if rng.random() < mask_rate else code
        yield _pair("doc", summary, shown, d)
        yield _pair("code2doc", code, summary, d)


def ident_pairs(corpus: Corpus) -> Iterator[Pair]:
    """Hybrid questions from identifiers: the name in words plus the doc's first sentence,
    e.g. "http client send request: Send one request and return its response"."""
    for d in _sources(corpus):
        words = name_words(d.qualname.rsplit(".", 2)[-2] + "." + d.name
                           if "." in d.qualname else d.name)
        if len(words.split()) < 2:
            continue
        sentence = first_sentence(first_paragraph(d.doc)) if d.doc else ""
        query = f"{words}: {sentence}" if informative(sentence, 3) else words
        yield _pair("ident", query, d.code, d)


# Messages a definition raises: raise X("..."), throw new X("..."), panic("..."),
# errors.New("..."), fmt.Errorf("..."), bail!/anyhow!("..."), Err("...").
_RAISE = re.compile(
    r"""(?:raise\s+(?P<py>[A-Z]\w*)\s*\(|throw\s+new\s+(?P<js>[A-Z]\w*)\s*\(|"""
    r"""(?P<go>errors\.New|fmt\.Errorf|panic|bail!|anyhow!|Err)\s*\()\s*"""
    r"""[fbr]?(?P<q>["'`])(?P<msg>[^"'`\n]{12,160})(?P=q)""")


# `msg = "..."` then `raise X(msg)` (ruff's EM rules ask for it).
_RAISE_NAME = re.compile(r"raise\s+(?P<py>[A-Z]\w*)\s*\(\s*(?P<var>[a-z_]\w*)\s*\)")


def raised_messages(code: str) -> list[tuple[str, str]]:
    """(exception kind, message) for the messages `code` raises, at most two."""
    found = [(m.group("py") or m.group("js") or "error", m.group("msg"))
             for m in _RAISE.finditer(code)]
    for m in _RAISE_NAME.finditer(code):
        assigned = re.search(r"\b" + m.group("var") + r"""\s*=\s*[fbr]?(["'])([^"'\n]{12,160})\1""",
                             code)
        if assigned:
            found.append((m.group("py"), assigned.group(2)))
    return found[:2]


def error_pairs(corpus: Corpus) -> Iterator[Pair]:
    """A pasted error ("ValueError: invalid header value") -> the definition raising it.
    Format placeholders become an ellipsis: a user pastes the message with values filled
    in, which the model must learn to see past."""
    for d in _sources(corpus):
        for kind, raw in raised_messages(d.code):
            msg = re.sub(r"\{[^}]*\}|%[sdrvqw]", "…", raw).strip()
            if informative(msg, 3):
                yield _pair("error", f"{kind}: {msg}", d.code, d)


def test_pairs(corpus: Corpus) -> Iterator[Pair]:
    """A test -> the function it exercises: of the non-test definitions the test calls,
    the one whose name shares most words with the test's name (ties: none)."""
    defs = corpus.by_key()
    calls: dict[tuple[str, str], list[Definition]] = defaultdict(list)
    for link in corpus.links:
        src, dst = defs.get((link.src_path, link.src)), defs.get((link.dst_path, link.dst))
        if link.kind == "calls" and src and dst and src.is_test and not dst.is_test:
            calls[(src.path, src.qualname)].append(dst)
    for key, callees in calls.items():
        test = defs[key]
        target = _best_named(test.name, callees)
        if target is not None:
            yield _pair("test", test.code, target.code, target)


def _best_named(test_name: str, candidates: list[Definition]) -> Definition | None:
    words = set(name_words(test_name).split()) - {"test", "tests", "should", "it"}
    scored = sorted(((len(words & set(name_words(c.name).split())), c.qualname, c)
                     for c in {c.qualname: c for c in candidates}.values()), reverse=True)
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][2]


def call_pairs(corpus: Corpus, rng: random.Random, per_callee: int = 1) -> Iterator[Pair]:
    """A caller's body -> the callee it relies on (Code->Code), at most `per_callee`
    callers per callee, so a utility called everywhere does not dominate."""
    defs = corpus.by_key()
    callers: dict[tuple[str, str], list[Definition]] = defaultdict(list)
    for link in corpus.links:
        src, dst = defs.get((link.src_path, link.src)), defs.get((link.dst_path, link.dst))
        if link.kind == "calls" and src and dst and src is not dst \
                and not src.is_test and not dst.is_test:
            callers[(dst.path, dst.qualname)].append(src)
    for key, srcs in callers.items():
        unique = list({(s.path, s.qualname): s for s in srcs}.values())
        for src in rng.sample(unique, min(per_callee, len(unique))):
            yield _pair("call", src.code, defs[key].code, defs[key])


def impl_pairs(corpus: Corpus) -> Iterator[Pair]:
    """An implementation -> its interface or base: a class -> the class it extends, and a
    method -> the method of the same name it overrides there."""
    defs = corpus.by_key()
    members: dict[tuple[str, str], dict[str, Definition]] = defaultdict(dict)
    for d in corpus.definitions:
        parent = d.qualname.rsplit(".", 1)[0] if "." in d.qualname else ""
        if parent:
            members[(d.path, parent)][d.name] = d
    for link in _inherits(corpus.links):
        sub, base = defs.get((link.src_path, link.src)), defs.get((link.dst_path, link.dst))
        if not sub or not base or sub.is_test:
            continue
        yield _pair("impl", sub.code, base.code, base)
        base_members = members.get((base.path, base.qualname), {})
        for name, method in members.get((sub.path, sub.qualname), {}).items():
            if name in base_members and not name.startswith("__"):
                yield _pair("impl", method.code, base_members[name].code, base_members[name])


def _inherits(links: Iterable[Link]) -> Iterator[Link]:
    return (link for link in links if link.kind in ("inherits", "implements"))


_NAMED = re.compile(r"`([A-Za-z_][\w.:]*?)(?:\(\))?`|\b([A-Z][a-z]+[A-Z]\w*|[a-z]+_[a-z_]+)\b")


def section_pairs(corpus: Corpus, per_section: int = 2) -> Iterator[Pair]:
    """A documentation section -> the definitions it names (in backticks, or CamelCase /
    snake_case words), when the name is defined exactly once outside tests."""
    by_name: dict[str, list[Definition]] = defaultdict(list)
    for d in _sources(corpus):
        by_name[d.name].append(d)
    for section in corpus.sections:
        text = section.text
        if not informative(text, 8):
            continue
        found: list[Definition] = []
        for m in _NAMED.finditer(text):
            name = (m.group(1) or m.group(2)).rsplit(".", 1)[-1].rsplit("::", 1)[-1]
            hits = by_name.get(name, [])
            if len(hits) == 1 and hits[0] not in found:
                found.append(hits[0])
            if len(found) >= per_section:
                break
        for d in found:
            yield _pair("section", text, d.code, d)


def tree_pairs(corpus: Corpus, seed: int = 0) -> list[Pair]:
    """Every tree generator's pairs, deduplicated."""
    rng = random.Random(seed)
    gens = (doc_pairs(corpus, rng), ident_pairs(corpus), error_pairs(corpus),
            test_pairs(corpus), call_pairs(corpus, rng), impl_pairs(corpus),
            section_pairs(corpus))
    return dedupe(p for gen in gens for p in gen)


def dedupe(pairs: Iterable[Pair]) -> list[Pair]:
    """Drop repeats (same kind, query and positive) and pairs whose two sides are equal."""
    seen: set[tuple[str, int, int]] = set()
    out: list[Pair] = []
    for p in pairs:
        key = (p.kind, hash(p.query), hash(p.positive))
        if key in seen or not p.query or not p.positive or p.query == p.positive:
            continue
        seen.add(key)
        out.append(p)
    return out
