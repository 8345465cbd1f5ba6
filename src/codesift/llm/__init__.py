"""The LLM client: any OpenAI-compatible chat-completions endpoint, with streaming, retries,
ordered fallback endpoints behind circuit breakers, and a response cache in the index.

    client = client_from_settings(settings, cache=SQLiteCache(store.db))
    client.complete(messages).text            # or: for delta in client.stream(messages): ...
"""

from codesift.llm.breaker import BreakerPolicy, CircuitBreaker
from codesift.llm.cache import ResponseCache, SQLiteCache, cache_key
from codesift.llm.client import ChatStream, Completion, LLMClient, RetryPolicy, client_from_settings
from codesift.llm.endpoint import Endpoint, endpoints_from_settings, parse_fallback
from codesift.llm.transport import Usage

__all__ = [
    "BreakerPolicy", "ChatStream", "CircuitBreaker", "Completion", "Endpoint", "LLMClient",
    "ResponseCache", "RetryPolicy", "SQLiteCache", "Usage", "cache_key", "client_from_settings",
    "endpoints_from_settings", "parse_fallback",
]
