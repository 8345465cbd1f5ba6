"""Settings, layered: defaults < codesift.toml (repo root) < CODESIFT_* environment < flags.

Every knob a user can turn lives here, so the CLI, the API and the servers agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import UsageError

INDEX_DIRNAME = ".codesift"


@dataclass(frozen=True, slots=True)
class Settings:
    index_dir: str | None = None  # default: <repo>/.codesift
    dense: bool = True
    embedder: str = "local"  # "local", "local:<model or path>", "openai:<model>"
    embed_base_url: str | None = None
    embed_batch_size: int = 32
    embed_threads: int = 0  # for indexing; 0 = every core (nothing else runs while embedding)
    embed_tests: bool = False  # test code is found lexically and by symbol; vectors optional
    embed_max_tokens: int = 256  # documents are cut here
    query_max_tokens: int = 128  # queries are cut here (the window MiniLM was trained with)
    query_precision: str = "int8"  # local model's query encoder: "int8" (2x faster) or "fp32"
    max_file_bytes: int = 1_000_000
    # Fusion: reciprocal-rank fusion constant and per-retriever weights.
    fusion: str = "rrf"  # "rrf" | "convex" | "max" (retrieve/fuse.py)
    rrf_k: int = 60
    weight_lexical: float = 1.0
    weight_identifiers: float = 1.0
    weight_dense: float = 1.0
    weight_symbol: float = 2.0
    weight_file: float = 1.0
    # BM25 over a many-paragraph query's opening paragraph alone (an issue's title, a commit's
    # subject), beside the whole text's; the same weight as the lexical list, not tuned.
    weight_opening: float = 1.0
    # A pasted error message's phrases pin the line that raises it; an exception type's
    # name (weight_symbol) matches its class and every raise site alike.
    weight_messages: float = 3.0
    # A `net/http: ...` prefix names where the change lives: BM25 confined there.
    weight_scope: float = 1.0
    # The first this many hits go to distinct files, in the order they first appear (0: off;
    # retrieve/search.files_first).
    file_slots: int = 5
    # Score multipliers by kind of file (ingest/kinds.py), unless the query asks for that
    # kind (retrieve/query.py); docs/architecture.md "Ranking" gives the argument for each.
    test_penalty: float = 0.5  # test code unless the query is about tests
    prose_penalty: float = 0.7  # docs and config files unless the query asks for them
    stub_penalty: float = 0.8  # declaration files (.pyi, .d.ts) vs implementations
    example_penalty: float = 0.5  # examples, samples, demos: they call the code, like tests
    changelog_penalty: float = 0.5  # changelogs and release notes: they echo every change
    # Files nobody edits to fix a bug: below any source chunk found by the same one retriever.
    generated_penalty: float = 0.25
    locale_penalty: float = 0.25  # translation catalogs: copies of the source's strings
    vendored_penalty: float = 0.01  # third-party code that got through discovery: last
    # Graph-aware ranking (retrieve/graph_rank.py); 0 switches each off.
    graph_expand: float = 0.0  # share of a top hit's score passed to its callers and callees
    graph_prior: float = 0.0  # boost for definitions many places call (log in-degree)
    # Longer queries are refused (retrieve/query.py MAX_QUERY_CHARS says why 1,000,000);
    # past 2,000 characters a query is read through its condensed lines (retrieve/longtext.py).
    max_query_chars: int = 1_000_000
    # Secrets found by content at index time are stored redacted (ingest/secrets.py).
    redact_secrets: bool = True
    # Context packing (pack.py): default budget and the token counter's name.
    context_budget: int = 4000
    tokenizer: str = "auto"
    # The LLM for answers (llm.py): any OpenAI-compatible chat-completions endpoint.
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_temperature: float = 0.0
    llm_max_tokens: int = 1024
    llm_timeout: float = 60.0
    llm_fallbacks: tuple[str, ...] = field(default=())  # further endpoints, tried in order
    llm_cache: bool = True
    extra_ignores: tuple[str, ...] = field(default=())

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None overrides applied (flags from the CLI)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_ENV_PREFIX = "CODESIFT_"


def _coerce(name: str, raw: Any, current: Any) -> Any:
    kind = type(current) if current is not None else str
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in ("1", "true", "yes", "on")
        if kind is tuple:
            return tuple(raw) if isinstance(raw, list) else tuple(str(raw).split(","))
        return kind(raw)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"setting {name}={raw!r} is not a valid {kind.__name__}",
                         hint="check codesift.toml and CODESIFT_* variables") from exc


def load_settings(repo: Path | None = None, env: dict[str, str] | None = None,
                  **flags: Any) -> Settings:
    """Resolve settings for `repo` from its codesift.toml, the environment and flags."""
    settings = Settings()
    names = {f.name for f in fields(Settings)}
    layers: list[dict[str, Any]] = []
    if repo is not None and (repo / "codesift.toml").is_file():
        import tomllib
        try:
            layers.append(tomllib.loads((repo / "codesift.toml").read_text("utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"{repo / 'codesift.toml'} is not valid TOML: {exc}") from exc
    env = os.environ if env is None else env
    layers.append({k[len(_ENV_PREFIX):].lower(): v for k, v in env.items()
                   if k.startswith(_ENV_PREFIX) and k[len(_ENV_PREFIX):].lower() in names})
    layers.append({k: v for k, v in flags.items() if v is not None})
    for layer in layers:
        unknown = set(layer) - names
        if unknown:
            raise UsageError(f"unknown setting(s): {', '.join(sorted(unknown))}",
                             hint=f"known settings: {', '.join(sorted(names))}")
        settings = replace(settings, **{k: _coerce(k, v, getattr(settings, k))
                                        for k, v in layer.items()})
    return settings


def index_path(repo: Path, settings: Settings) -> Path:
    base = Path(settings.index_dir).expanduser().resolve() if settings.index_dir \
        else repo / INDEX_DIRNAME
    return base / "index.db"
