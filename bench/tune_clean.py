"""Keeping the training data of the shipped code model clean (issue 16).

Three things must never reach training: a project reserved in ../shared/eval/heldout.txt,
anything under ../shared/eval (the history set's packages included), and the repositories of
the multi-language development set (bench/devset_repos.toml). Projects are matched by
*project*, whatever registry or repository name they ship under, so every check here works on
normalised names: `owner/name` of the upstream repository, the bare repository name and every
registry name, with Debian's and the registries' wrappers (`librust-…-dev`, `golang-github-…`,
`python3-…`, `@scope/…`) taken off. A name of the same family also counts (`regex-syntax`
belongs to `regex`, `tracing-core` to `tracing`): false positives cost a source, false
negatives would cost the measurement.

Positives whose body also appears in the evaluation pools (CoSQA's code, Spider's SQL) are
dropped by `normalised_body_hash`, which the training script applies to every positive.

Standard library only: importable by tests and by the training script without codesift.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT.parent / "shared" / "eval"  # ../shared/eval, as the project reads it
DEVSET_TOML = ROOT / "bench" / "devset_repos.toml"
MANIFEST = ROOT / "bench" / "tune_sources.toml"

# Wrappers the registries put around a project's name; taken off to find the project.
_PREFIXES = ("golang-", "librust-", "rust-", "python3-", "python-", "node-", "ruby-", "php-",
             "lib")
_SUFFIXES = ("-dev", "-java")
# Folders that hold someone else's code inside a source tree.
VENDOR_DIRS = frozenset({"vendor", "vendored", "_vendor", "third_party", "third-party",
                         "thirdparty", "external", "extern", "deps", "node_modules", "bundled"})


# --- names --------------------------------------------------------------------------------

def normalise(name: str) -> str:
    """PEP 503-style: lower case, runs of `-_.` as one `-` (`Serde_JSON` == `serde-json`)."""
    return re.sub(r"[-_.]+", "-", name.strip().lower())


def bare_names(name: str) -> set[str]:
    """A registry or repository name and the project names it may stand for:
    `librust-regex-syntax-dev` -> {itself, `regex-syntax`}; `@trpc/server` -> {`@trpc/server`,
    `server`, `trpc`}; `golang-github-spf13-cobra-dev` -> {…, `github-spf13-cobra`}."""
    name = name.strip().lower()
    out = {normalise(name)}
    if name.startswith("@") and "/" in name:  # npm scope: the scope names the project
        scope, _, rest = name[1:].partition("/")
        out |= {normalise(scope), normalise(rest)}
    core = normalise(name)
    for prefix in _PREFIXES:
        if core.startswith(prefix) and len(core) > len(prefix):
            core = core[len(prefix):]
            break
    for suffix in _SUFFIXES:
        core = core.removesuffix(suffix)
    return out | {core} - {""}


def repo_names(owner_name: str) -> set[str]:
    """`owner/name` -> {`owner/name`, `name`, and the names Debian gives its Go module}."""
    owner, _, name = owner_name.strip().lower().partition("/")
    keys = {f"{normalise(owner)}/{normalise(name)}", normalise(name)}
    keys.add(f"github-{normalise(owner)}-{normalise(name)}")  # golang-github-OWNER-NAME-dev
    if owner == "golang":  # golang.org/x/NAME is golang-golang-x-NAME-dev
        keys.add(f"golang-x-{normalise(name)}")
    return keys


# --- the reserved lists -------------------------------------------------------------------

def heldout_projects(path: Path | str) -> set[str]:
    """Every normalised name heldout.txt reserves: owner/name, the bare repository name and
    each registry name (with its bare forms). Parenthesised notes like `(CoSQA)` are not names."""
    return set(_heldout_labels(Path(path)))


def _heldout_labels(path: Path) -> dict[str, str]:
    labels: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        label = f"heldout.txt: {tokens[0]}"
        names = _until_note(tokens)
        for key in repo_names(names[0]) if "/" in names[0] else bare_names(names[0]):
            labels.setdefault(key, label)
        for registry_name in names[1:]:
            for key in bare_names(registry_name):
                labels.setdefault(key, label)
    return labels


def _until_note(tokens: list[str]) -> list[str]:
    for i, token in enumerate(tokens):
        if token.startswith("("):
            return tokens[:i]
    return tokens


def devset_projects(toml_path: Path | str) -> set[str]:
    """Every normalised name of the development set's repositories: owner/name from the URL,
    the bare repository name and the set's own name for it (`golang-net`, `vue-core`)."""
    return set(_devset_labels(Path(toml_path)))


def _devset_labels(path: Path) -> dict[str, str]:
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    labels: dict[str, str] = {}
    for repo in spec.get("repo", []):
        owner_name = "/".join(repo["url"].rstrip("/").split("/")[-2:])
        label = f"devset_repos.toml: {owner_name}"
        for key in repo_names(owner_name) | bare_names(repo["name"]):
            labels.setdefault(key, label)
    return labels


def history_projects(history_dir: Path | str) -> set[str]:
    """The packages of the shared history set, from each .jsonl's first record."""
    return set(_history_labels(Path(history_dir)))


def _history_labels(history_dir: Path) -> dict[str, str]:
    labels: dict[str, str] = {}
    for path in sorted(history_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            first = json.loads(fh.readline())
        for key in bare_names(first["package"]):
            labels.setdefault(key, f"history set: {path.name}")
    return labels


def reserved_labels(eval_dir: Path | str | None = EVAL_DIR,
                    devset_toml: Path | str = DEVSET_TOML) -> dict[str, str]:
    """Normalised name -> which list reserves it. The eval lists are left out when eval_dir
    is None or absent (a checkout without ../shared): callers that need them check first."""
    labels = _devset_labels(Path(devset_toml))
    eval_dir = Path(eval_dir) if eval_dir else None
    if eval_dir and (eval_dir / "heldout.txt").is_file():
        labels.update(_heldout_labels(eval_dir / "heldout.txt"))
    if eval_dir and (eval_dir / "history").is_dir():
        labels.update(_history_labels(eval_dir / "history"))
    return labels


# --- sources ------------------------------------------------------------------------------

def load_manifest(path: Path | str = MANIFEST) -> list[dict]:
    """The [[source]] entries; ValueError (naming the file and the TOML error) if unreadable."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8")).get("source", [])
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"{path}: {err}") from None


def selected(relpath: str, source: Mapping) -> bool:
    """Whether a file (posix path relative to the source's folder) is training material by
    the entry's `include` / `exclude` prefixes: inside an include (all, when none is given)
    and not inside an exclude."""
    def under(prefixes: Iterable[str]) -> bool:
        return any(relpath == p or relpath.startswith(p.rstrip("/") + "/") for p in prefixes)

    include, exclude = source.get("include") or [], source.get("exclude") or []
    return (not include or under(include)) and not under(exclude)


def source_keys(source: Mapping) -> set[str]:
    """The names a manifest entry may be known by: its own name, its registry package, its
    upstream repository (and for git sources the repository it clones)."""
    keys = bare_names(source.get("name", ""))
    if source.get("package"):
        keys |= bare_names(source["package"])
    for field in ("upstream", "repo"):
        if "/" in source.get(field, ""):
            keys |= repo_names(source[field])
    return keys - {""}


def is_excluded(source: Mapping, reserved: Mapping[str, str] | None = None) -> str | None:
    """Why this manifest entry must not be trained on, or None when it is clean.

    `reserved` maps normalised names to the list reserving them (reserved_labels()); by
    default the lists at ../shared/eval and bench/devset_repos.toml.
    """
    if reserved is None:
        reserved = reserved_labels()
    name = source.get("name", "?")
    for value in source.values():
        if isinstance(value, str) and "shared/eval" in value:
            return f"{name}: points under shared/eval"
    # owner/name first: the reason then names the project, not a derived form of it
    for key in sorted(source_keys(source), key=lambda k: ("/" not in k, k)):
        hit = _reserved_match(key, reserved)
        if hit:
            return f"{name}: {key!r} is reserved by {reserved[hit]}"
    return None


def _reserved_match(key: str, reserved: Mapping[str, str]) -> str | None:
    """The reserved name `key` is, or belongs to the family of (`regex-syntax` -> `regex`);
    for Debian's Go names also the repository at the end (`github-mvdan-sh` -> `sh`)."""
    if key in reserved:
        return key
    parts = key.split("-")
    for i in range(1, len(parts)):
        if "-".join(parts[:i]) in reserved:
            return "-".join(parts[:i])
    if key.startswith(("github-", "golang-x-")):
        for i in range(1, len(parts)):
            if "-".join(parts[i:]) in reserved and "/" not in "-".join(parts[i:]):
                return "-".join(parts[i:])
    return None


def vendored_reserved(relpath: str, reserved: Mapping[str, str]) -> str | None:
    """Why a file inside a training tree is someone else's reserved code, or None: a copy
    of a reserved project under a vendor folder (`third_party/fmt/...`, `node_modules/ws/...`)."""
    parts = PurePosixPath(relpath).parts[:-1]
    for parent, child in zip(parts, parts[1:]):
        if parent.lower() not in VENDOR_DIRS:
            continue
        for key in sorted(bare_names(child)):
            hit = _reserved_match(key, reserved)
            if hit:
                return f"{relpath}: vendored {child!r} is reserved by {reserved[hit]}"
    return None


_BORROWED = re.compile(r"(?i)\b(?:adapted|copied|taken|borrowed|ported|derived|vendored)"
                       r"\s+from\b([^\n]{0,60})")


def borrowed_from_reserved(text: str, reserved: Mapping[str, str]) -> str | None:
    """The phrase of `text` saying it was copied or adapted from a reserved project
    (`# adapted from Django`, `tests copied from matplotlib.tests`), or None. Drop such a
    file whole: the copy's extent is rarely marked. Words are matched exactly, so a
    reserved name that is also an English word ("core", "black") costs a file only when
    it follows "copied from" and the like."""
    for match in _BORROWED.finditer(text):
        for word in re.findall(r"[A-Za-z][A-Za-z0-9_-]+", match.group(1)):
            if normalise(word) in reserved:
                return match.group(0).strip()
    return None


# --- bodies -------------------------------------------------------------------------------

def normalised_body_hash(code: str) -> str:
    """sha1 of `code` with all whitespace removed.

    Why all of it: the leak we guard against is a copy of an evaluation body, and a copy
    moves through layouts — a method dedented out of its class (CoSQA's functions are),
    black or prettier re-wrapping a call, CRLF, tabs, blank lines, `a=b` vs `a = b`. Two
    bodies that differ only in whitespace are the same code for this purpose; two that
    differ in anything else hash apart. Case is kept (`Foo` and `foo` are different code)
    and comments are kept: their syntax is per language (`#include`, `#[test]`, `--` are
    code elsewhere), and a verbatim copy carries the same comments anyway.

    Hash the definition as written (Definition.code), not a positive derived from it (doc
    removed, names masked): the CoSQA functions keep their docstrings.
    """
    return hashlib.sha1("".join(code.split()).encode("utf-8")).hexdigest()


def eval_body_hashes(eval_dir: Path | str = EVAL_DIR) -> set[str]:
    """normalised_body_hash of every CoSQA pool function and every Spider dev SQL query.

    Raises FileNotFoundError (naming the file) when either is missing: a silent empty set
    would let every positive through.
    """
    eval_dir = Path(eval_dir)
    return {normalised_body_hash(body)
            for body in _bodies(eval_dir) if "".join(body.split())}


def _bodies(eval_dir: Path) -> Iterable[str]:
    cosqa = eval_dir / "cosqa" / "code_idx_map.txt"
    spider = eval_dir / "spider" / "dev.json"
    for path in (cosqa, spider):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: cannot build the evaluation body "
                                    f"hashes (is ../shared/eval laid out?)")
    yield from json.loads(cosqa.read_text(encoding="utf-8"))  # {code: id}: the keys
    for record in json.loads(spider.read_text(encoding="utf-8")):
        yield record["query"]
