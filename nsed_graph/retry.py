"""Whether a failed call is tried again, and after how long (docs/protocol.md, "Faults").

Retrying every failure at once, as the first version did, turns one hung endpoint into minutes
(a timeout retried with the same timeout, every round) and answers a rate limit with more load.
The rule here, by what the failure says about the next attempt:

- a **timeout** is not retried: the seat has spent its deadline, and the same request to the
  same endpoint would most likely spend it again (issue 14: a hung seat cost 1.83 s a round
  against 0.2 s healthy);
- a **client error** (HTTP 4xx other than 408, 409, 425 and 429: a bad request, a bad key, a
  missing model) is not retried: the same request fails the same way;
- a **rate limit or server error** (429, 5xx, 408, 409, 425) and an error without a status (a
  refused connection, an exception of the model object) are retried after an exponential
  backoff with full jitter, ``uniform(0, min(max_wait, base * 2 ** (attempt - 1)))``, and never
  sooner than the provider's ``Retry-After``; one that asks for longer than ``max_wait`` is not
  retried, since the run would rather degrade the round than stall it;
- an **empty or unparseable** reply is a bad draw of the model, retried at once.

``retry_delay`` is pure: the caller supplies the jitter draw, so the schedule is testable
without a clock; the two readers take the status and the header from a provider's exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

RETRYABLE_CLIENT_STATUS = frozenset({408, 409, 425, 429})
"""4xx statuses that say "try later" (timeout, conflict, too early, rate limit)."""


def retry_delay(
    kind: str,
    attempt: int,
    *,
    status: int | None,
    retry_after_s: float | None,
    backoff_s: float,
    max_wait_s: float,
    jitter: float,
) -> float | None:
    """Seconds to wait before retrying a failed ``attempt`` (1 for the first), or None when it
    should not be retried. ``jitter`` is a draw from [0, 1)."""
    if kind == "timeout":
        return None
    if kind in ("empty", "unparseable"):
        return 0.0
    if status is not None and 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUS:
        return None
    if retry_after_s is not None and retry_after_s > max_wait_s:
        return None
    ceiling = min(max_wait_s, backoff_s * 2.0 ** max(0, attempt - 1))
    return max(retry_after_s or 0.0, jitter * ceiling)


def status_of(error: BaseException) -> int | None:
    """The HTTP status an exception carries (openai's and httpx's errors), if any."""
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def retry_after_of(error: BaseException) -> float | None:
    """The wait a provider asked for in its ``Retry-After`` (or ``retry-after-ms``) header:
    seconds, or an HTTP date; None when absent or unreadable."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    if not isinstance(headers, Mapping) and not hasattr(headers, "get"):
        return None
    return _header_seconds(headers)


def _header_seconds(headers: Any) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" and zone-less dates parse naive: HTTP dates are UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


__all__ = ["RETRYABLE_CLIENT_STATUS", "retry_after_of", "retry_delay", "status_of"]
