"""When a failed call is tried again (nsed_graph/retry.py): the rule and its properties."""

from __future__ import annotations

import httpx
import openai
from hypothesis import given
from hypothesis import strategies as st

from nsed_graph.retry import retry_after_of, retry_delay, status_of

SCHEDULE = {"backoff_s": 0.5, "max_wait_s": 30.0}


def delay(kind: str, attempt: int = 1, **said: object) -> float | None:
    settings = {"status": None, "retry_after_s": None, "jitter": 1.0, **SCHEDULE, **said}
    return retry_delay(kind, attempt, **settings)  # type: ignore[arg-type]


def test_what_is_retried() -> None:
    assert delay("timeout") is None
    assert delay("error", status=401) is None
    assert delay("error", status=404) is None
    assert delay("empty") == delay("unparseable") == 0.0
    assert delay("error", status=429) == 0.5
    assert delay("error", status=503, attempt=3) == 2.0
    assert delay("error") == 0.5  # no status: a refused connection, an exception
    assert delay("error", status=429, retry_after_s=4.0) == 4.0
    assert delay("error", status=429, retry_after_s=31.0) is None
    assert delay("error", attempt=12) == 30.0  # capped


@given(
    attempt=st.integers(1, 20),
    jitter=st.floats(0.0, 1.0, exclude_max=True),
    retry_after=st.one_of(st.none(), st.floats(0.0, 30.0)),
    status=st.sampled_from([None, 408, 429, 500, 502, 503]),
)
def test_a_retry_waits_within_the_cap_and_never_before_retry_after(
    attempt: int, jitter: float, retry_after: float | None, status: int | None
) -> None:
    wait = delay("error", attempt, status=status, retry_after_s=retry_after, jitter=jitter)
    assert wait is not None
    assert 0.0 <= wait <= SCHEDULE["max_wait_s"]
    assert wait >= (retry_after or 0.0)


def rate_limit(headers: dict[str, str]) -> openai.RateLimitError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(429, headers=headers, request=request)
    return openai.RateLimitError("slow down", response=response, body=None)


def test_the_status_and_retry_after_are_read_from_the_providers_error() -> None:
    assert status_of(rate_limit({})) == 429
    assert retry_after_of(rate_limit({"Retry-After": "7"})) == 7.0
    assert retry_after_of(rate_limit({"retry-after-ms": "250"})) == 0.25
    assert retry_after_of(rate_limit({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_of(rate_limit({"Retry-After": "Wed, 21 Oct 2015 07:28:00 -0000"})) == 0.0
    assert retry_after_of(rate_limit({"Retry-After": "soon"})) is None
    assert retry_after_of(rate_limit({})) is None
    assert status_of(RuntimeError("boom")) is None
    assert retry_after_of(RuntimeError("boom")) is None
