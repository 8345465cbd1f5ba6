"""Where the LLM lives: `Endpoint` records and the ordered list built from settings.

The primary comes from llm_base_url / llm_api_key / llm_model (else OPENAI_BASE_URL and
OPENAI_API_KEY); then each llm_fallbacks entry, written as a URL with an optional fragment:

    http://localhost:8080/v1                      same model as the primary, no API key
    http://localhost:11434/v1#llama3.1:8b         that model (a fragment without '=')
    https://api.groq.com/openai/v1#model=llama-3.1-8b-instant&key_env=GROQ_API_KEY&name=groq

A fallback's key is only ever read from the environment variable `key_env` names, so a key
written for one host is never sent to another and codesift.toml can stay key-free.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from codesift.config import Settings
from codesift.errors import LLMNotConfiguredError

OPENAI_BASE_URL = "https://api.openai.com/v1"
_FRAGMENT_KEYS = {"model", "key_env", "name"}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One OpenAI-compatible server and the model to ask there."""

    base_url: str  # up to and including /v1
    api_key: str | None = field(default=None, repr=False)
    model: str = ""
    name: str = ""  # how messages name it: host:port unless given
    key_source: str = "llm_api_key"  # the setting or variable a user fixes when the key is bad

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.name:
            object.__setattr__(self, "name", urlsplit(self.base_url).netloc or self.base_url)


def endpoints_from_settings(settings: Settings,
                            env: Mapping[str, str] | None = None) -> list[Endpoint]:
    """The ordered endpoints to try; raises LLMNotConfiguredError when there are none."""
    env = os.environ if env is None else env
    model = settings.llm_model or ""
    endpoints: list[Endpoint] = []
    primary = _primary(settings, env, model)
    if primary is not None:
        endpoints.append(primary)
    endpoints.extend(parse_fallback(entry, model, env) for entry in settings.llm_fallbacks
                     if entry.strip())
    if not endpoints:
        raise LLMNotConfiguredError(
            "no LLM endpoint is configured",
            hint="set llm_base_url and llm_model in codesift.toml "
                 "(or CODESIFT_LLM_BASE_URL / CODESIFT_LLM_MODEL; OPENAI_API_KEY for OpenAI)")
    for endpoint in endpoints:
        if not endpoint.model:
            raise LLMNotConfiguredError(
                f"no model is set for the LLM endpoint {endpoint.name}",
                hint="set llm_model (CODESIFT_LLM_MODEL), or #MODEL on a fallback entry")
    return _unique_names(endpoints)


def _primary(settings: Settings, env: Mapping[str, str], model: str) -> Endpoint | None:
    base_url = settings.llm_base_url or env.get("OPENAI_BASE_URL")
    if settings.llm_api_key:
        key, source = settings.llm_api_key, "llm_api_key (CODESIFT_LLM_API_KEY)"
    else:
        key, source = env.get("OPENAI_API_KEY") or None, "OPENAI_API_KEY (or llm_api_key)"
    if not base_url and not key:
        return None  # nothing says an LLM was meant: only fallbacks, if any
    return Endpoint(base_url or OPENAI_BASE_URL, key, model, key_source=source)


def parse_fallback(entry: str, default_model: str, env: Mapping[str, str]) -> Endpoint:
    """`URL`, `URL#MODEL` or `URL#model=M&key_env=VAR&name=N` -> Endpoint."""
    url, _, fragment = entry.strip().partition("#")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LLMNotConfiguredError(
            f"llm_fallbacks entry {entry!r} is not an http(s) URL",
            hint="write URL, URL#MODEL or URL#model=M&key_env=VAR&name=N")
    options: dict[str, str] = {}
    if "=" in fragment:
        parsed = parse_qs(fragment, keep_blank_values=True)
        unknown = set(parsed) - _FRAGMENT_KEYS
        if unknown:
            raise LLMNotConfiguredError(
                f"llm_fallbacks entry {entry!r} has unknown option(s): {', '.join(sorted(unknown))}",
                hint=f"known options: {', '.join(sorted(_FRAGMENT_KEYS))}")
        options = {k: v[-1] for k, v in parsed.items()}
    elif fragment:
        options = {"model": fragment}
    key_env = options.get("key_env", "")
    key = (env.get(key_env) or None) if key_env else None
    return Endpoint(url, key,
                    options.get("model") or default_model, options.get("name", ""),
                    key_source=f"${key_env}" if key_env else f"key_env= on the llm_fallbacks entry for {url}")


def _unique_names(endpoints: list[Endpoint]) -> list[Endpoint]:
    """Two endpoints on one host (two models) get #2, #3 so messages tell them apart."""
    seen: dict[str, int] = {}
    out = []
    for endpoint in endpoints:
        seen[endpoint.name] = seen.get(endpoint.name, 0) + 1
        if seen[endpoint.name] > 1:
            endpoint = Endpoint(endpoint.base_url, endpoint.api_key, endpoint.model,
                                f"{endpoint.name}#{seen[endpoint.name]}", endpoint.key_source)
        out.append(endpoint)
    return out
