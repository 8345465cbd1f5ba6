"""A circuit breaker per endpoint: stop calling a server that keeps failing, try it again later.

Closed → (N failures in a row) → open: skipped → (cooldown passes) → half-open: one call
decides, success closes it, failure opens it for another cooldown (Nygard, "Release It!").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    threshold: int = 3  # failed calls in a row that open the circuit
    cooldown: float = 30.0  # seconds an open circuit skips the endpoint


class CircuitBreaker:
    """State for one endpoint; the client owns one per endpoint, so nothing is global."""

    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()  # a server shares one client across request threads
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.policy.cooldown:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """May a call go to this endpoint now? In half-open, only one trial call at a time."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a trial call through (0 when not open)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.policy.cooldown - (self._clock() - self._opened_at))

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial_running = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self.policy.threshold:
                self._opened_at = self._clock()
            self._trial_running = False

    def release(self) -> None:
        """The call ended without a verdict (interrupted): let another trial through."""
        with self._lock:
            self._trial_running = False
