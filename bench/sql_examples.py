"""Example selection on Spider dev (issue 17): for each dev question, the other dev questions
of its database are the stored examples (leave-one-out; twins — the same normalised SQL —
hidden too). How close is the SQL skeleton of the top-1 / top-3 selected examples to the
gold SQL's skeleton (difflib ratio over skeleton tokens; and exact skeleton match at top 1),
for plain question similarity, masked-question similarity, and masked + voted skeleton
(codesift's default)?

    python bench/sql_examples.py [--json] [--lexical]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spider_data  # noqa: E402

from codesift.sql.catalog import normalise_sql  # noqa: E402
from codesift.sql.examples import ExampleIndex, skeleton, skeleton_similarity  # noqa: E402
from codesift.sql.model import Example  # noqa: E402

VARIANTS = {"plain question": dict(masked=False, skeletons=False),
            "masked question": dict(masked=True, skeletons=False),
            "masked + skeleton (codesift)": dict(masked=True, skeletons=True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--lexical", action="store_true", help="word overlap, no embedder")
    args = ap.parse_args()
    if not spider_data.available():
        sys.exit("Spider is not in ../shared/eval/spider")
    schemas = spider_data.load_schemas()
    by_db: dict[str, list[spider_data.Question]] = defaultdict(list)
    for q in spider_data.dev_questions():
        by_db[q.db_id].append(q)
    embed = None
    if not args.lexical:
        from codesift.embed import make_embedder
        model = make_embedder("local", backend="onnx", threads=1)
        embed = lambda texts: np.asarray(model.embed_documents(list(texts)), dtype=np.float32)  # noqa: E731
    sums = {v: defaultdict(float) for v in VARIANTS}
    n = 0
    for db, qs in sorted(by_db.items()):
        index = ExampleIndex([Example(q.question, q.sql) for q in qs], schemas[db], embed)
        norm = [normalise_sql(q.sql) for q in qs]
        for i, q in enumerate(qs):
            gold = skeleton(q.sql)
            keep = lambda j, i=i: j != i and norm[j] != norm[i]  # noqa: E731
            if not any(keep(j) for j in range(len(qs))):
                continue
            n += 1
            for name, opts in VARIANTS.items():
                got = index.select(q.question, 3, keep=keep, **opts)
                sims = [skeleton_similarity(skeleton(s.example.sql), gold) for s in got]
                sums[name]["top1"] += sims[0]
                sums[name]["top3"] += sum(sims) / len(sims)
                sums[name]["exact1"] += skeleton(got[0].example.sql) == gold
    out = {"questions": n, "embedder": "lexical" if args.lexical else "all-MiniLM-L6-v2",
           "variants": {v: {k: round(s / n, 4) for k, s in sums[v].items()} for v in VARIANTS}}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{n} questions, leave-one-out within each database, twins hidden ({out['embedder']})")
    print("| selection | skeleton sim top-1 | mean top-3 | exact skeleton top-1 |\n|---|---|---|---|")
    for v, r in out["variants"].items():
        print(f"| {v} | {r['top1']:.3f} | {r['top3']:.3f} | {r['exact1']:.3f} |")


if __name__ == "__main__":
    main()
