"""Local embedding speed: index-time throughput per backend, query cold start and warm latency.

    cd /work/main && PYTHONPATH=src .venv/bin/python bench/bench_embed.py [--n 192] [--rounds 3] [--busy]

Each configuration runs in its own process (thread pools are process-wide). Throughput is
chunks/s on ~800-character slices of the CPython standard library; every row is also
compared with torch fp32 (min cosine over all chunks) and given as a ratio to it.
`--busy` keeps the other core busy with a spinning process, as the indexer's parser would.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
CONFIGS = {
    "torch fp32 1 core": dict(backend="torch", precision="fp32", threads=1),
    "torch fp32 2 cores": dict(backend="torch", precision="fp32", threads=2),
    "torch bf16 1 core": dict(backend="torch", precision="bf16", threads=1),
    "torch bf16 2 cores": dict(backend="torch", precision="bf16", threads=2),
    "onnxruntime fp32 1 core": dict(backend="onnx", threads=1),
    "onnxruntime fp32 2 cores": dict(backend="onnx", threads=2),
}
QUERIES = ["read a json file", "where do we retry failed uploads?", "parse command line arguments",
           "compute a sha256 hash of a file", "open a tcp socket with a timeout"]  # fmt: skip


def stdlib_chunks(n: int, size: int = 800, seed: int = 0) -> list[str]:
    """n slices of about `size` characters, cut at line boundaries, from random stdlib files."""
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    rng = random.Random(seed)
    chunks: list[str] = []
    while len(chunks) < n:
        lines = rng.choice(files).read_text(errors="replace").splitlines(keepends=True)
        if len(lines) < 20:
            continue
        start = rng.randrange(len(lines) - 10)
        text = ""
        for line in lines[start:]:
            if len(text) + len(line) > size * 1.25:
                break
            text += line
        if len(text) >= size * 0.5:
            chunks.append(text)
    return chunks


def worker(name: str, n: int, out: str) -> None:
    """A persistent worker: loads once, then embeds the set on each "run" line from stdin
    and answers with wall and CPU seconds, so configurations can be interleaved in rounds."""
    from codesift.embed.local import LocalEmbedder

    texts = stdlib_chunks(n)
    emb = LocalEmbedder(**CONFIGS[name])
    emb.embed_documents(texts[:32])  # load + warm up
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        wall, cpu = time.perf_counter(), time.process_time()
        vecs = emb.embed_documents(texts)
        print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}), flush=True)
    np.save(out, vecs)


def query_worker() -> None:
    t0 = time.perf_counter()
    from codesift.embed import make_embedder

    emb = make_embedder("local")
    emb.embed_query(QUERIES[0])
    cold = time.perf_counter() - t0
    times = []
    for i in range(100):
        t = time.perf_counter()
        emb.embed_query(QUERIES[i % len(QUERIES)])
        times.append(time.perf_counter() - t)
    print(json.dumps({"cold_s": cold, "torch_imported": "torch" in sys.modules,
                      "warm_ms_p50": 1000 * float(np.median(times)),
                      "warm_ms_p95": 1000 * float(np.percentile(times, 95))}))  # fmt: skip


def _spin() -> None:
    while True:
        pass


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(HERE.parent.parent / "src"), HF_HUB_OFFLINE="1")


def run(cmd: list[str]) -> dict:
    res = subprocess.run([sys.executable, str(HERE), *cmd], env=_env(), capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(f"worker {cmd} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def throughput(names: list[str], n: int, rounds: int, tmp: str) -> tuple[dict, dict]:
    """Interleave the configurations round by round; other load on the machine then hits
    them alike, and the best round of each is the least disturbed one."""
    procs = {}
    for i, name in enumerate(names):
        cmd = [sys.executable, str(HERE), "--worker", name, "--n", str(n), "--out", os.path.join(tmp, f"{i}.npy")]
        procs[name] = subprocess.Popen(cmd, env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert procs[name].stdout.readline().strip() == "ready", name
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(rounds):
        for name, proc in procs.items():
            proc.stdin.write("run\n")
            proc.stdin.flush()
            runs[name].append(json.loads(proc.stdout.readline()))
    vecs = {}
    for i, (name, proc) in enumerate(procs.items()):
        proc.stdin.close()
        proc.wait()
        vecs[name] = np.load(os.path.join(tmp, f"{i}.npy"))
    return runs, vecs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=192)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--busy", action="store_true", help="keep one core busy during the runs")
    ap.add_argument("--only", nargs="*", default=list(CONFIGS))
    args = ap.parse_args()
    run(["--query"])  # make sure the ONNX export exists before timing anything
    spinner = mp.Process(target=_spin, daemon=True) if args.busy else None
    if spinner:
        spinner.start()
    try:
        names = ["torch fp32 1 core", *[c for c in args.only if c != "torch fp32 1 core"]]
        with tempfile.TemporaryDirectory() as tmp:
            runs, vecs = throughput(names, args.n, args.rounds, tmp)
    finally:
        if spinner:
            spinner.terminate()
    best = {name: args.n / min(r["wall"] for r in rs) for name, rs in runs.items()}
    median = {name: args.n / float(np.median([r["wall"] for r in rs])) for name, rs in runs.items()}
    cpu = {name: args.n / min(r["cpu"] for r in rs) for name, rs in runs.items()}
    base, ref = best["torch fp32 1 core"], vecs["torch fp32 1 core"]
    busy = ", other core kept busy" if args.busy else ""
    print(f"\nIndex-time throughput: {args.n} stdlib chunks of ~800 chars, batch 32, "
          f"best of {args.rounds} interleaved rounds{busy}")  # fmt: skip
    print(f"{'configuration':30} {'chunks/s':>9} {'median':>7} {'per CPU-s':>9} {'vs torch fp32 1t':>16} {'min cos vs fp32':>15}")
    for name in names:
        cos = float((vecs[name] * ref).sum(axis=1).min())
        print(f"{name:30} {best[name]:9.1f} {median[name]:7.1f} {cpu[name]:9.1f} {best[name] / base:15.2f}x {cos:15.6f}")
    print("\nQuery path (fresh process: import codesift.embed + load + first query)")
    q = [run(["--query"]) for _ in range(5)]
    top = min(q, key=lambda r: r["cold_s"])
    print(f"cold start {top['cold_s']:.3f} s (best of 5; median {np.median([r['cold_s'] for r in q]):.3f} s), "
          f"warm p50 {top['warm_ms_p50']:.2f} ms, p95 {top['warm_ms_p95']:.2f} ms, "
          f"torch imported: {top['torch_imported']}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        p = argparse.ArgumentParser()
        p.add_argument("--worker")
        p.add_argument("--n", type=int)
        p.add_argument("--out")
        a = p.parse_args()
        worker(a.worker, a.n, a.out)
    elif sys.argv[1:] == ["--query"]:
        query_worker()
    else:
        main()
