"""The training corpus of the shipped code model: every source of bench/tune_sources.toml
downloaded and extracted into <root>/<name>, pinned and verified (issue 16).

    python bench/tune_corpus.py                 # fetch what is missing (resumable)
    python bench/tune_corpus.py --check         # validate the manifest only, fetch nothing
    python bench/tune_corpus.py --json --stats  # per-source status, files and bytes by language

Kinds: `pypi` (sdist via pip download), `npm` (tarball via npm pack), `debian` (.deb via
apt-get download, unpacked with dpkg-deb) and `git` (cloned from the snapshot the search
tool's `fetch` leaves at <mirrors>/<owner>+<name>/repo, checked out at the pinned commit).
A finished source has a stamp <root>/<name>.ok holding its pin: a rerun skips it, a changed
pin fetches it again. Work happens in <root>/.<name>.part and is renamed into place, so an
interrupted run leaves nothing that looks complete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tune_clean  # noqa: E402  (bench/ is not a package)

KINDS = ("pypi", "npm", "debian", "git")
LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp",
             "c_sharp", "ruby", "php")
DEFAULT_ROOT = Path("/work/cache/tune-corpus")
DEFAULT_MIRRORS = Path("/work/.mirror")
_SPDX = re.compile(r"[A-Za-z0-9.+-]+(?: (?:OR|AND|WITH) [A-Za-z0-9.+-]+)*")


class SourceError(Exception):
    """One source could not be fetched or verified; the message says why and what to do."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", type=Path, default=tune_clean.MANIFEST)
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"default: {DEFAULT_ROOT}")
    p.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS,
                   help=f"where `fetch` leaves git snapshots (default: {DEFAULT_MIRRORS})")
    p.add_argument("--only", help="comma list of source names (default: all)")
    p.add_argument("--check", action="store_true", help="validate the manifest, fetch nothing")
    p.add_argument("--stats", action="store_true", help="count source files and bytes by language")
    p.add_argument("--defs", action="store_true",
                   help="with --stats, also count definitions (tree-sitter; minutes of CPU)")
    p.add_argument("--json", action="store_true", help="print per-source status as JSON")
    return p


# --- the manifest -------------------------------------------------------------------------

def manifest_problems(sources: list[dict], reserved: dict[str, str],
                      need_digest: bool = True) -> list[str]:
    """Every reason the manifest is not usable, one line each ([] when it is). Fetching
    tolerates a missing sha256 (need_digest=False) so a new entry can be pinned from the
    digest the fetch prints; --check and the test do not."""
    problems = [p for s in sources for p in entry_problems(s, need_digest)]
    names = Counter(s.get("name") for s in sources)
    problems += [f"{n}: the name is used {c} times" for n, c in names.items() if c > 1]
    problems += [r for s in sources if (r := tune_clean.is_excluded(s, reserved))]
    return problems


def entry_problems(source: dict, need_digest: bool = True) -> list[str]:
    name = source.get("name") or "?"
    kind = source.get("kind")
    out = []
    if kind not in KINDS:
        out.append(f"{name}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "git" and not re.fullmatch(r"[0-9a-f]{40}", source.get("commit", "")):
        out.append(f"{name}: a git source needs `commit`, 40 hex digits")
    if kind in ("pypi", "npm", "debian"):
        fields = ("package", "version", "sha256") if need_digest else ("package", "version")
        out += [f"{name}: a {kind} source needs `{f}`" for f in fields if not source.get(f)]
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", source.get("upstream", "")):
        out.append(f"{name}: `upstream` must be the project's GitHub owner/name")
    if not _SPDX.fullmatch(source.get("licence", "")):
        out.append(f"{name}: `licence` must be an SPDX expression, got {source.get('licence')!r}")
    for field in ("include", "exclude"):
        paths = source.get(field, [])
        if not isinstance(paths, list) or not all(_relative(p) for p in paths):
            out.append(f"{name}: `{field}` must be a list of relative paths inside the source")
    bad = set(source.get("languages") or ["(none)"]) - set(LANGUAGES)
    if bad:
        out.append(f"{name}: languages {sorted(bad)} not among {', '.join(LANGUAGES)}")
    return out


def _relative(path: object) -> bool:
    return isinstance(path, str) and bool(path) and not path.startswith("/") \
        and ".." not in path.split("/")


def pin(source: dict) -> dict:
    """What makes a fetched copy this source: written to the stamp, compared on rerun."""
    keys = ("kind", "package", "version", "sha256", "upstream", "commit")
    return {k: source[k] for k in keys if k in source}


# --- fetching -----------------------------------------------------------------------------

def fetch(source: dict, root: Path, mirrors: Path) -> str:
    """Bring one source into root/<name>; 'present' or 'fetched'. Raises SourceError."""
    target, stamp = root / source["name"], root / f"{source['name']}.ok"
    if stamp.is_file() and target.is_dir() and json.loads(stamp.read_text()) == pin(source):
        return "present"
    part = root / f".{source['name']}.part"
    shutil.rmtree(part, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    part.mkdir(parents=True)
    try:
        FETCHERS[source["kind"]](source, part, mirrors)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, ValueError) as err:
        shutil.rmtree(part, ignore_errors=True)
        raise SourceError(f"{source['name']}: {err}") from None
    except SourceError:
        shutil.rmtree(part, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    part.rename(target)
    stamp.write_text(json.dumps(pin(source)) + "\n")
    return "fetched"


def run(cmd: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise SourceError(f"`{' '.join(cmd)}` failed: {tail[0]}")
    return done.stdout


def fetch_pypi(source: dict, part: Path, _mirrors: Path) -> None:
    with tempfile.TemporaryDirectory(dir=part.parent) as tmp:
        run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             "--quiet", "-d", tmp, f"{source['package']}=={source['version']}"])
        archive = _only_file(Path(tmp), source)
        _verify_sha256(archive, source)
        _extract(archive, part)
    _verify_text(part / "PKG-INFO", rf"(?m)^Version: {re.escape(source['version'])}$", source)


def fetch_npm(source: dict, part: Path, _mirrors: Path) -> None:
    with tempfile.TemporaryDirectory(dir=part.parent) as tmp:
        run(["npm", "pack", "--silent", "--pack-destination", tmp,
             f"{source['package']}@{source['version']}"], cwd=Path(tmp))
        archive = _only_file(Path(tmp), source)
        _verify_sha256(archive, source)
        _extract(archive, part)
    version = json.loads((part / "package.json").read_text(encoding="utf-8")).get("version")
    if version != source["version"]:
        raise SourceError(f"{source['name']}: package.json says {version}, the manifest "
                          f"{source['version']}")


def fetch_debian(source: dict, part: Path, _mirrors: Path) -> None:
    with tempfile.TemporaryDirectory(dir=part.parent) as tmp:
        try:
            run(["apt-get", "download", f"{source['package']}={source['version']}"], cwd=Path(tmp))
        except SourceError as err:
            raise SourceError(f"{err} (hint: run `apt-get update` once first)") from None
        deb = _only_file(Path(tmp), source)
        _verify_sha256(deb, source)
        version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
        if version != source["version"]:
            raise SourceError(f"{source['name']}: the .deb is {version}, the manifest "
                              f"{source['version']}")
        run(["dpkg-deb", "-x", str(deb), str(part)])


def mirror_of(source: dict, mirrors: Path) -> Path:
    return mirrors / source["upstream"].replace("/", "+") / "repo"


def clone_command(source: dict, root: Path, mirrors: Path) -> str:
    target = root / source["name"]
    return (f"git clone {mirror_of(source, mirrors)} {target} && "
            f"git -C {target} checkout {source['commit']}")


def fetch_git(source: dict, part: Path, mirrors: Path) -> None:
    mirror = mirror_of(source, mirrors)
    if not mirror.is_dir():
        raise SourceError(f"{source['name']}: no snapshot at {mirror}; get it with the search "
                          f"tool's fetch (github:{source['upstream']}), then: "
                          f"{clone_command(source, part.parent, mirrors)}")
    # A local clone hard-links the snapshot's objects: the history costs no second copy.
    run(["git", "clone", "--quiet", "--no-checkout", str(mirror), str(part)])
    try:
        run(["git", "-C", str(part), "checkout", "--quiet", "--detach", source["commit"]])
    except SourceError:
        raise SourceError(f"{source['name']}: commit {source['commit']} is not in {mirror} "
                          f"(hint: fetch a newer snapshot or fix the pin)") from None
    head = run(["git", "-C", str(part), "rev-parse", "HEAD"]).strip()
    if head != source["commit"]:
        raise SourceError(f"{source['name']}: HEAD is {head}, the manifest {source['commit']}")


def check_paths(source: dict, folder: Path) -> None:
    """Every include / exclude path must exist: a stale one would silently train on nothing
    (or on the vendored code it meant to drop)."""
    missing = [p for f in ("include", "exclude") for p in source.get(f, [])
               if not (folder / p).exists()]
    if missing:
        raise SourceError(f"{source['name']}: {', '.join(missing)} not in {folder} "
                          f"(hint: the layout changed with the version; fix include/exclude)")


FETCHERS = {"pypi": fetch_pypi, "npm": fetch_npm, "debian": fetch_debian, "git": fetch_git}


def _only_file(folder: Path, source: dict) -> Path:
    files = [p for p in folder.iterdir() if p.is_file()]
    if len(files) != 1:
        raise SourceError(f"{source['name']}: expected one downloaded file, found "
                          f"{[p.name for p in files]}")
    return files[0]


def _verify_sha256(path: Path, source: dict) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not source.get("sha256"):  # a new entry: say what to pin
        print(f"{source['name']}: unpinned, add  sha256 = \"{digest}\"", file=sys.stderr)
    elif digest != source["sha256"]:
        raise SourceError(f"{source['name']}: {path.name} has sha256 {digest}, the manifest "
                          f"{source['sha256']} (hint: a re-published file? check, then re-pin)")


def _verify_text(path: Path, pattern: str, source: dict) -> None:
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    if not re.search(pattern, text):
        raise SourceError(f"{source['name']}: {path.name} does not declare version "
                          f"{source['version']}")


def _extract(archive: Path, into: Path) -> None:
    """Unpack with the archive's single top folder stripped (`pkg-1.0/`, npm's `package/`)."""
    with tempfile.TemporaryDirectory(dir=into.parent) as tmp:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")  # refuses absolute paths, links outside
        tops = list(Path(tmp).iterdir())
        inner = tops[0] if len(tops) == 1 and tops[0].is_dir() else Path(tmp)
        for child in inner.iterdir():
            child.rename(into / child.name)


# --- reporting ----------------------------------------------------------------------------

def tree_stats(source: dict, folder: Path, defs: bool = False) -> dict:
    """Source files and bytes by language (codesift's extension map) among the files the
    entry selects, .git left out; with defs, the definitions in them, and how many of
    those sit in test files."""
    import _common  # noqa: F401  (puts src/ on the path in a checkout)
    from codesift.evaluate.defs import language_of

    stats: dict[str, Counter[str]] = {k: Counter() for k in ("files", "bytes", "defs", "test_defs")}
    for path in source_files(source, folder):
        language = language_of(path.name)
        if language:
            stats["files"][language] += 1
            stats["bytes"][language] += path.stat().st_size
            if defs:
                _count_defs(path, folder, language, stats)
    out = {k: dict(v) for k, v in stats.items() if v}
    return out | {"disk_bytes": _du(folder)}


def source_files(source: dict, folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if ".git" in path.parts or not path.is_file() or path.is_symlink():
            continue
        if tune_clean.selected(path.relative_to(folder).as_posix(), source):
            yield path


def _count_defs(path: Path, folder: Path, language: str, stats: dict) -> None:
    from codesift.evaluate.defs import definitions
    from codesift.ingest.languages import is_test_path, language_for_path

    rel = path.relative_to(folder).as_posix()
    found = len(definitions(rel, path.read_text(encoding="utf-8", errors="replace")))
    stats["defs"][language] += found
    if is_test_path(rel, language_for_path(rel) or language):
        stats["test_defs"][language] += found


def _du(folder: Path) -> int:
    out = subprocess.run(["du", "-sb", str(folder)], capture_output=True, text=True).stdout
    return int(out.split()[0]) if out else 0


def process(source: dict, args: argparse.Namespace) -> dict:
    row = {"name": source["name"], "kind": source["kind"], "path": str(args.root / source["name"])}
    try:
        row["status"] = fetch(source, args.root, args.mirrors)
        check_paths(source, args.root / source["name"])
    except SourceError as err:
        row.update(status="failed", error=str(err))
    if args.stats and row["status"] != "failed":
        row.update(tree_stats(source, args.root / source["name"], args.defs))
    return row


def print_row(row: dict) -> None:
    line = f"{row['status']:<8} {row['kind']:<6} {row['name']:<20}"
    if "files" in row:
        line += f" {row['disk_bytes'] / 1e6:6.1f} MB  files " + " ".join(
            f"{lang}={n}" for lang, n in sorted(row["files"].items()))
    if "defs" in row:
        tests = sum(row.get("test_defs", {}).values())
        line += f"  defs {sum(row['defs'].values())} ({tests} in tests)"
    print(line + (f"\n         {row['error']}" if "error" in row else ""), flush=True)


def totals(rows: list[dict]) -> dict:
    """Sums over the rows: sources by kind, files/bytes/defs by language, disk in all."""
    out: dict = {"sources": dict(Counter(r["kind"] for r in rows)),
                 "disk_bytes": sum(r.get("disk_bytes", 0) for r in rows)}
    for field in ("files", "bytes", "defs", "test_defs"):
        summed: Counter[str] = Counter()
        for row in rows:
            summed.update(row.get(field, {}))
        if summed:
            out[field] = dict(summed.most_common())
    return out


def print_totals(total: dict) -> None:
    kinds = ", ".join(f"{k} {v}" for k, v in total["sources"].items())
    print(f"\n{sum(total['sources'].values())} sources ({kinds}), "
          f"{total['disk_bytes'] / 1e6:.0f} MB on disk")
    for field in ("files", "bytes", "defs", "test_defs"):
        if field in total:
            print(f"  {field:<9} " + " ".join(f"{k}={v}" for k, v in total[field].items()))


def orphans(root: Path, sources: list[dict]) -> list[str]:
    """Folders under root that no manifest entry names (a source dropped from the list)."""
    names = {s["name"] for s in sources}
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name not in names)


def select(sources: list[dict], only: str | None) -> list[dict]:
    if not only:
        return sources
    wanted = set(only.split(","))
    unknown = wanted - {s["name"] for s in sources}
    if unknown:
        raise SystemExit(f"unknown source(s): {', '.join(sorted(unknown))} "
                         f"(see {tune_clean.MANIFEST.name})")
    return [s for s in sources if s["name"] in wanted]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sources = tune_clean.load_manifest(args.manifest)
    except ValueError as err:
        raise SystemExit(f"cannot read the manifest: {err}") from None
    if not (tune_clean.EVAL_DIR / "heldout.txt").is_file():
        print(f"warning: {tune_clean.EVAL_DIR} is absent: only the development set is "
              f"checked, not heldout.txt", file=sys.stderr)
    problems = manifest_problems(sources, tune_clean.reserved_labels(), need_digest=args.check)
    if problems or args.check:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(sources)} sources, {len(problems)} problem(s)", file=sys.stderr)
        return 1 if problems else 0
    args.root.mkdir(parents=True, exist_ok=True)
    rows = []
    for source in select(sources, args.only):
        rows.append(process(source, args))
        if not args.json:
            print_row(rows[-1])
    if args.json:
        print(json.dumps({"sources": rows, "totals": totals(rows)}, indent=1))
    elif args.stats:
        print_totals(totals(rows))
    for name in orphans(args.root, sources):
        print(f"note: {args.root / name} is not in the manifest (remove it by hand)",
              file=sys.stderr)
    failed = [r["name"] for r in rows if r["status"] == "failed"]
    if failed:
        print(f"{len(failed)} source(s) failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
