"""The code model shipped inside codesift (`--embedder local:codesift-code-v1`): compact,
licensed, its numbers recorded, and usable end to end with queries that never import torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SMALL_REPO, write_tree

from codesift.cli import main
from codesift.embed.local import shipped_model_dir

SRC = str(Path(__file__).resolve().parents[1] / "src")
FOLDER = shipped_model_dir("codesift-code-v1")


def test_the_shipped_model_is_compact_licensed_and_fingerprinted():
    from codesift.tune.export import fingerprint
    files = [p for p in FOLDER.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 100_000_000
    assert {"model.safetensors", "LICENSE.md", "README.md", "codesift-tune.json",
            "model-int8-pc.onnx"} <= {p.name for p in files}
    assert not (FOLDER / "onnx" / "model.onnx").exists()  # fp32 is made in the cache, not shipped
    info = json.loads((FOLDER / "codesift-tune.json").read_text())
    assert info["fingerprint"] == fingerprint(FOLDER)
    assert "Apache" in (FOLDER / "LICENSE.md").read_text()


def test_index_and_search_with_the_shipped_model(tmp_path):
    pytest.importorskip("sentence_transformers")
    repo = write_tree(tmp_path / "repo", SMALL_REPO)
    index_dir = str(tmp_path / "idx")
    runner = CliRunner()
    built = runner.invoke(main, ["index", str(repo), "--index-dir", index_dir,
                                 "--embedder", "local:codesift-code-v1", "--json"])
    assert built.exit_code == 0, built.output
    status = json.loads(runner.invoke(main, ["status", "--repo", str(repo), "--index-dir",
                                             index_dir, "--json"]).stdout)
    assert status["embedder"].startswith("local:codesift-code-v1@")
    assert not (FOLDER / "onnx" / "model.onnx").exists()  # indexing wrote nothing into it
    # A terminal search with it never imports torch: the int8 query model ships.
    code = ("import sys\nfrom codesift.api import open_index\n"
            f"idx = open_index({str(repo)!r}, index_dir={index_dir!r})\n"
            "hits = idx.search('retry failed uploads with backoff')\n"
            "assert hits and any('dense' in h.sources for h in hits), hits\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    ran = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=SRC),
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
