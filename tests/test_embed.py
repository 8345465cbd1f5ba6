"""Embedders against the real packaged model and a real OpenAI-compatible HTTP server."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from codesift.embed import Embedder, embedder_id_for, make_embedder
from codesift.embed.local import LocalEmbedder
from codesift.embed.openai_compat import OpenAIEmbedder
from codesift.errors import EmbedderError

SRC = str(Path(__file__).resolve().parent.parent / "src")
SNIPPETS = [
    "def load_config(path):\n    with open(path) as fh:\n        return json.load(fh)\n",
    "class LRUCache:\n    def __init__(self, size):\n        self.size = size\n        self.data = OrderedDict()\n",
    "func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {\n\tw.WriteHeader(200)\n}\n",
    "SELECT name, email FROM users WHERE created_at > now() - interval '7 days';",
    "x",
    "import os\n" + "def walk(root):\n    for dirpath, dirs, files in os.walk(root):\n        yield from files\n" * 30,
]


# -- the local model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("codesift-cache")


@pytest.fixture(scope="module")
def onnx_embedder(cache_dir: Path) -> LocalEmbedder:
    # fp32 queries: the exact vectors, for the tests that compare paths to each other.
    return LocalEmbedder(backend="onnx", cache_dir=cache_dir, query_precision="fp32")


@pytest.fixture(scope="module")
def torch_embedder(cache_dir: Path) -> LocalEmbedder:
    return LocalEmbedder(backend="torch", precision="fp32", cache_dir=cache_dir)


@pytest.fixture(scope="module")
def st_reference() -> np.ndarray:
    """SNIPPETS through sentence-transformers itself, fp32: what every path must give."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(LocalEmbedder().model_dir), device="cpu")
    return model.encode(SNIPPETS, normalize_embeddings=True, convert_to_numpy=True)


def test_local_embedder_is_an_embedder(onnx_embedder: LocalEmbedder) -> None:
    assert isinstance(onnx_embedder, Embedder)
    assert onnx_embedder.id == "local:all-MiniLM-L6-v2"
    assert onnx_embedder.dim == 384


def test_onnx_and_torch_match_sentence_transformers_fp32(
        onnx_embedder: LocalEmbedder, torch_embedder: LocalEmbedder, st_reference: np.ndarray) -> None:
    # The torch path runs the BERT forward on packed tokens (packed_bert.py), other
    # architectures run transformers' model: both without sentence-transformers, same vectors.
    from codesift.embed.packed_bert import PackedBertEncoder
    from codesift.embed.torch_direct import TransformersEncoder

    torch_encoder = torch_embedder._torch_encoder()  # a handful of texts would go to ONNX
    assert isinstance(torch_encoder, PackedBertEncoder)
    weights = torch_embedder.model_dir / (torch_embedder._layout or {})["transformer_path"]
    via_transformers = TransformersEncoder(torch_embedder.onnx_dir, weights)
    for got in (onnx_embedder.embed_documents(SNIPPETS), torch_encoder.encode(SNIPPETS, 4),
                via_transformers.encode(SNIPPETS, 4)):
        assert got.dtype == np.float32 and got.shape == (len(SNIPPETS), 384)
        assert (got * st_reference).sum(axis=1).min() >= 0.9999
    for text, row in zip(SNIPPETS, st_reference):
        assert float(onnx_embedder.embed_query(text) @ row) >= 0.9999


def test_int8_query_encoder_is_close_to_fp32(onnx_embedder: LocalEmbedder, cache_dir: Path,
                                             st_reference: np.ndarray) -> None:
    # The default query encoder: per-channel int8 weights, the same embedder id (it
    # searches the same fp32 document vectors), cached beside the export.
    emb = LocalEmbedder(backend="onnx", cache_dir=cache_dir)
    assert emb.query_precision == "int8" and emb.id == onnx_embedder.id
    cos = [float(emb.embed_query(t) @ row) for t, row in zip(SNIPPETS, st_reference)]
    assert min(cos) >= 0.98 and max(cos) < 0.99999  # close, and really quantized
    assert any(cache_dir.rglob("model-int8-pc.onnx"))
    # Its documents are untouched fp32 vectors.
    assert (emb.embed_documents(SNIPPETS) * st_reference).sum(axis=1).min() >= 0.9999
    with pytest.raises(EmbedderError, match="query_precision"):
        LocalEmbedder(query_precision="fp16")


def test_parallel_batches_give_the_one_thread_vectors(cache_dir: Path) -> None:
    # Two workers, one core each, over many batches: rows in input order, same numbers.
    texts = [f"def f{i}(x):\n    return x * {i}" + " + x" * (i % 17) for i in range(90)]
    one = LocalEmbedder(backend="onnx", cache_dir=cache_dir, threads=1, batch_size=8)
    two = LocalEmbedder(backend="onnx", cache_dir=cache_dir, threads=2, batch_size=8)
    np.testing.assert_allclose(one.embed_documents(texts), two.embed_documents(texts), atol=1e-5)


def test_packed_batches_cut_by_tokens_give_the_same_vectors(
        torch_embedder: LocalEmbedder, st_reference: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small token budgets: many batches, sequences of different lengths side by side in
    # one packed matrix; each row still gets its own sequence's vector, in input order.
    from codesift.embed import packed_bert

    encoder = torch_embedder._torch_encoder()
    whole = encoder.encode(SNIPPETS)
    monkeypatch.setattr(packed_bert, "TOKEN_BUDGET", 40)
    monkeypatch.setattr(packed_bert, "ROW_STEP", 16)
    np.testing.assert_allclose(encoder.encode(SNIPPETS), whole, atol=1e-5)
    assert (whole * st_reference).sum(axis=1).min() >= 0.9999


def test_packed_pooling_matches_padded_pooling() -> None:
    # cls / max / mean over packed rows equal the padded-batch pooling the ONNX path uses.
    import torch

    from codesift.embed.onnx import _pool
    from codesift.embed.packed_bert import _pool_packed

    rng = np.random.default_rng(0)
    lengths = [3, 1, 5]
    rows = rng.normal(size=(sum(lengths), 4)).astype(np.float32)
    padded = np.zeros((3, 5, 4), dtype=np.float32)
    mask = np.zeros((3, 5), dtype=np.int64)
    start = 0
    for i, n in enumerate(lengths):
        padded[i, :n], mask[i, :n] = rows[start:start + n], 1
        start += n
    for mode in ("cls", "max", "mean"):
        got = _pool_packed(torch, torch.from_numpy(rows), lengths, mode).numpy()
        np.testing.assert_allclose(got, _pool(padded, mask, mode), atol=1e-6)


def test_plan_batches_respects_counts_budget_and_workers() -> None:
    from codesift.embed.base import plan_batches

    lengths = [5, 1, 9, 3, 7, 2]
    batches = plan_batches(lengths, batch_size=4, token_budget=10, workers=1)
    assert sorted(int(i) for b in batches for i in b) == list(range(6))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)  # shortest first: neighbours pad little
    assert all(sum(lengths[i] for i in b) <= 10 or len(b) == 1 for b in batches)
    assert all(len(b) <= 4 for b in batches)
    assert len(plan_batches([4, 4], batch_size=32, token_budget=4096, workers=2)) == 2


def test_torch_bf16_stays_close_to_fp32(torch_embedder: LocalEmbedder) -> None:
    bf16 = LocalEmbedder(backend="torch", precision="bf16")
    got, ref = bf16.embed_documents(SNIPPETS), torch_embedder.embed_documents(SNIPPETS)
    assert got.dtype == np.float32
    assert (got * ref).sum(axis=1).min() >= 0.999


def test_int8_is_its_own_embedder_close_to_fp32(onnx_embedder: LocalEmbedder,
                                               cache_dir: Path) -> None:
    int8 = make_embedder("local-int8", cache_dir=cache_dir)
    assert int8.id == embedder_id_for("local-int8") == "local:all-MiniLM-L6-v2#int8"
    assert int8.id != onnx_embedder.id  # an index never mixes int8 and fp32 vectors
    got, ref = int8.embed_documents(SNIPPETS), onnx_embedder.embed_documents(SNIPPETS)
    assert got.shape == ref.shape and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    cos = (got * ref).sum(axis=1)
    assert cos.min() > 0.8 and cos.max() < 0.99999  # close, and really quantized
    assert any(cache_dir.rglob("model-int8.onnx"))  # quantized once, cached beside the export


def test_rows_are_unit_and_in_input_order(onnx_embedder: LocalEmbedder) -> None:
    texts = SNIPPETS[::-1] * 6  # > one batch, lengths deliberately unsorted
    seen: list[int] = []
    vecs = onnx_embedder.embed_documents(texts, progress=seen.append)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    singles = {t: onnx_embedder.embed_query(t) for t in SNIPPETS}
    assert min(float(v @ singles[t]) for t, v in zip(texts, vecs)) >= 0.9999
    assert seen == sorted(seen) and seen[-1] == len(texts)
    assert onnx_embedder.embed_documents([]).shape == (0, 384)


def test_query_vector_is_the_one_text_batch_vector(cache_dir: Path) -> None:
    # embed_query tokenizes without the batch path (whose thread pool would compete with
    # the retrievers for the CPU) and must still give exactly the batch path's vector,
    # cut at its own window.
    emb = LocalEmbedder(backend="onnx", cache_dir=cache_dir, max_tokens=16, query_max_tokens=16,
                        query_precision="fp32")
    for text in SNIPPETS:
        np.testing.assert_array_equal(emb.embed_query(text), emb.embed_documents([text])[0])
    long_text = SNIPPETS[-1]  # far past 16 tokens: what follows the cut changes nothing
    np.testing.assert_array_equal(emb.embed_query(long_text), emb.embed_query(long_text + " tail"))


def test_semantic_sanity(onnx_embedder: LocalEmbedder) -> None:
    q = onnx_embedder.embed_query("read a json file")
    json_fn, cache_cls = onnx_embedder.embed_documents(SNIPPETS[:2])
    assert q @ json_fn > q @ cache_cls + 0.1


def test_query_path_does_not_import_torch(onnx_embedder: LocalEmbedder, cache_dir: Path) -> None:
    onnx_embedder.embed_query("warm the export")  # the export exists after this
    code = (
        "import sys; from codesift.embed import make_embedder\n"
        "assert 'numpy' not in sys.modules and 'torch' not in sys.modules\n"
        "v = make_embedder('local').embed_query('read a json file')\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "print(v.shape[0])\n"
    )
    env = dict(os.environ, PYTHONPATH=SRC, CODESIFT_CACHE_DIR=str(cache_dir))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "384"


def test_ids_without_loading() -> None:
    assert embedder_id_for("local") == "local:all-MiniLM-L6-v2"
    assert embedder_id_for("local:sentence-transformers/all-MiniLM-L6-v2") == "local:all-MiniLM-L6-v2"
    assert embedder_id_for("openai:m", base_url="http://h:1/v1/") == "openai:http://h:1/v1:m"
    assert make_embedder("local").id == embedder_id_for("local")


def test_model_folder_path_is_accepted(onnx_embedder: LocalEmbedder, cache_dir: Path) -> None:
    folder = str(onnx_embedder.model_dir)
    emb = make_embedder(f"local:{folder}", cache_dir=cache_dir, query_precision="fp32")
    assert emb.id == f"local:{Path(folder).resolve()}" == embedder_id_for(f"local:{folder}")
    assert float(emb.embed_query("hello") @ onnx_embedder.embed_query("hello")) >= 0.9999


def test_missing_model_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(EmbedderError, match="not available offline") as err:
        make_embedder("local:no-such-model-xyz")
    assert err.value.hint
    with pytest.raises(EmbedderError, match="no sentence-transformers model"):
        make_embedder(f"local:{tmp_path}")
    with pytest.raises(EmbedderError, match="unknown embedder"):
        make_embedder("word2vec")


# -- the OpenAI-compatible client against a real HTTP server ------------------------------


def fake_vector(text: str, dim: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b - 128.0 for b in digest[:dim]]


class EmbeddingsServer(ThreadingHTTPServer):
    """Speaks POST /v1/embeddings; `script` holds canned failures served before successes."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[tuple[int, dict[str, str]]] = []
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        self.api_key: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: EmbeddingsServer

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        self.server.auth.append(self.headers.get("Authorization"))
        if self.path != "/v1/embeddings" or body.get("model") != "embed-small":
            return self._reply(404, {"error": {"message": "model not found"}})
        if self.server.api_key and self.headers.get("Authorization") != f"Bearer {self.server.api_key}":
            return self._reply(401, {"error": {"message": "Incorrect API key provided"}})
        if self.server.script:
            status, headers = self.server.script.pop(0)
            return self._reply(status, {"error": {"message": "try again"}}, headers)
        data = [{"object": "embedding", "index": i, "embedding": fake_vector(t)} for i, t in enumerate(body["input"])]
        self._reply(200, {"object": "list", "data": data[::-1], "model": body["model"]})  # shuffled order

    def _reply(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server() -> Iterator[EmbeddingsServer]:
    srv = EmbeddingsServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def client(server: EmbeddingsServer, **opts: object) -> OpenAIEmbedder:
    opts.setdefault("backoff_base", 0.01)
    return OpenAIEmbedder("embed-small", base_url=server.base_url, api_key="sk-test", **opts)  # type: ignore[arg-type]


def expected(texts: list[str]) -> np.ndarray:
    v = np.array([fake_vector(t) for t in texts], dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_openai_batches_and_reorders(server: EmbeddingsServer) -> None:
    texts = [f"def f{i}(): return {i}" for i in range(150)]
    seen: list[int] = []
    emb = client(server)
    vecs = emb.embed_documents(texts, progress=seen.append)
    assert [len(r["input"]) for r in server.requests] == [64, 64, 22]
    assert seen == [64, 128, 150]
    np.testing.assert_allclose(vecs, expected(texts), atol=1e-6)
    assert vecs.dtype == np.float32 and emb.dim == 8
    assert server.auth[0] == "Bearer sk-test"
    assert emb.id == f"openai:{server.base_url}:embed-small"


def test_openai_caps_characters_per_request(server: EmbeddingsServer) -> None:
    texts = ["x" * 100] * 5
    client(server, max_batch_chars=250).embed_documents(texts)
    assert [len(r["input"]) for r in server.requests] == [2, 2, 1]


def test_openai_dim_probe_and_query(server: EmbeddingsServer) -> None:
    emb = client(server)
    assert emb.dim == 8 and len(server.requests) == 1
    np.testing.assert_allclose(emb.embed_query("hi"), expected(["hi"])[0], atol=1e-6)


def test_openai_retries_429_honouring_retry_after(server: EmbeddingsServer) -> None:
    server.script = [(429, {"Retry-After": "0.2"})]
    emb = client(server, backoff_base=30.0)  # a backoff this long would stall: Retry-After must win
    vecs = emb.embed_documents(["a", "b"])
    assert len(server.requests) == 2
    np.testing.assert_allclose(vecs, expected(["a", "b"]), atol=1e-6)


def test_openai_retries_500_then_succeeds(server: EmbeddingsServer) -> None:
    server.script = [(500, {}), (503, {})]
    vecs = client(server).embed_documents(["a"])
    assert len(server.requests) == 3
    np.testing.assert_allclose(vecs, expected(["a"]), atol=1e-6)


def test_openai_gives_up_after_max_retries(server: EmbeddingsServer) -> None:
    server.script = [(503, {})] * 10
    with pytest.raises(EmbedderError, match="after 3 attempts: HTTP 503"):
        client(server, max_retries=2).embed_documents(["a"])
    assert len(server.requests) == 3


def test_openai_bad_key(server: EmbeddingsServer) -> None:
    server.api_key = "sk-right"
    with pytest.raises(EmbedderError, match="rejected the API key") as err:
        client(server).embed_documents(["a"])
    assert "API_KEY" in err.value.hint and len(server.requests) == 1


def test_openai_unknown_model_or_url(server: EmbeddingsServer) -> None:
    with pytest.raises(EmbedderError, match="HTTP 404") as err:
        OpenAIEmbedder("nope", base_url=server.base_url).embed_documents(["a"])
    assert "/v1" in err.value.hint


def test_openai_unreachable_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: connection refused
    with pytest.raises(EmbedderError, match="cannot reach") as err:
        OpenAIEmbedder("m", base_url=f"http://127.0.0.1:{port}/v1").embed_documents(["a"])
    assert err.value.hint


def test_openai_env_configuration(server: EmbeddingsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODESIFT_EMBED_BASE_URL", server.base_url)
    monkeypatch.setenv("CODESIFT_EMBED_API_KEY", "sk-env")
    emb = make_embedder("openai:embed-small")
    assert emb.id == embedder_id_for("openai:embed-small")
    emb.embed_query("q")
    assert server.auth == ["Bearer sk-env"]


def test_index_and_search_through_an_openai_compatible_server(
        server: EmbeddingsServer, small_repo: Path) -> None:
    """The whole CLI against the loopback server: documents and queries are embedded
    there, and the index records which endpoint and model made its vectors."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CODESIFT_EMBED_BASE_URL": server.base_url,
           "CODESIFT_EMBED_API_KEY": "sk-test"}
    server.api_key = "sk-test"
    run = lambda *a: subprocess.run([sys.executable, "-m", "codesift", *a], env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    built = run("index", str(small_repo), "--embedder", "openai:embed-small", "--json")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["vectors_embedded"] > 0
    served = len(server.requests)
    found = run("search", "send a request", "--repo", str(small_repo), "--json")
    assert found.returncode == 0, found.stderr
    assert any("dense" in h["sources"] for h in json.loads(found.stdout))
    assert len(server.requests) == served + 1  # the query
    status = json.loads(run("status", "--repo", str(small_repo), "--json").stdout)
    assert status["embedder"] == f"openai:{server.base_url}:embed-small"
    server.api_key = "sk-other"  # a revoked key: one clear line, no traceback
    failed = run("search", "send a request", "--repo", str(small_repo))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith("error:")
