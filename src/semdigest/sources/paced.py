"""One polite HTTP client for every arXiv interface (export API, RSS, OAI-PMH).

arXiv's terms of use ask for at most one request every three seconds over a single connection, so one
PacedClient paces every request it sends (retries included) and is shared by everything in a process.
Transient failures (HTTP 429/5xx, timeouts, dropped connections, responses cut short) are retried with
exponential backoff, honouring Retry-After up to a cap; failures that no retry fixes (a host name that
does not resolve, a refused connection) fail at once.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from .._version import __version__
from ..errors import ArxivError, ArxivUnavailable, MalformedResponse

USER_AGENT = f"semdigest/{__version__} (+https://github.com/semdigest/semdigest; 1 request per 3 s)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A server asking for more than this is treated as down: a daily job must not sleep for a day.
MAX_RETRY_AFTER = 300.0

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth another attempt; `error` is raised if the retries run out, else ArxivUnavailable."""

    def __init__(self, problem: str, error: ArxivError | None = None, retry_after: float = 0.0) -> None:
        super().__init__(problem)
        self.problem = problem
        self.error = error
        self.retry_after = retry_after  # what the server asked for (Retry-After), if anything


class PacedClient:
    """GET with pacing and retries; `parse(body)` turns a 200 into a result or raises."""

    def __init__(
        self,
        *,
        delay: float = 3.0,
        max_retries: int = 4,
        backoff: float = 3.0,
        timeout: float = 30.0,
        user_agent: str = USER_AGENT,
        on_wait: Callable[[str], None] | None = None,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, not {max_retries}")
        self.delay, self.max_retries, self.backoff = delay, max_retries, backoff
        self.on_wait, self.max_retry_after = on_wait, max_retry_after
        self._http = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=timeout,
            follow_redirects=True,
            limits=httpx.Limits(max_connections=1),
        )
        self._last_request: float | None = None

    def close(self) -> None:
        self._http.close()

    def get(self, url: str, params: dict[str, Any], parse: Callable[[bytes], T], *, name: str = "arXiv") -> T:
        attempt = 0
        while True:
            self._pace()
            try:
                return _parse_response(self._http.get(url, params=params), parse)
            except httpx.ConnectError as exc:
                raise ArxivUnavailable(f"cannot reach {name} at {_host(url)} ({_describe(exc)})") from None
            except httpx.TransportError as exc:
                failure = Retryable("timed out" if isinstance(exc, httpx.TimeoutException) else _describe(exc))
            except Retryable as exc:
                failure = exc
            if attempt == self.max_retries:
                break
            attempt += 1
            wait = self._wait(attempt, failure, name)
            if self.on_wait:
                self.on_wait(f"{name}: {failure.problem}; retry {attempt} of {self.max_retries} in {wait:.1f} s")
            time.sleep(wait)
        if failure.error is not None:
            raise failure.error
        tries = "1 attempt" if attempt == 0 else f"{attempt + 1} attempts"
        raise ArxivUnavailable(f"{name} did not answer after {tries} ({failure.problem}): try again later")

    def _wait(self, attempt: int, failure: Retryable, name: str) -> float:
        if failure.retry_after > self.max_retry_after:
            raise ArxivUnavailable(
                f"{name} asked to wait {failure.retry_after:.0f} s ({failure.problem}), more than"
                f" the {self.max_retry_after:.0f} s semdigest waits: try again later"
            )
        return max(self.backoff * 2 ** (attempt - 1), failure.retry_after)

    def _pace(self) -> None:
        # measured between request starts on the monotonic clock, so slow answers and retries count too
        if self._last_request is not None:
            time.sleep(max(0.0, self._last_request + self.delay - time.monotonic()))
        self._last_request = time.monotonic()


def _parse_response(response: httpx.Response, parse: Callable[[bytes], T]) -> T:
    status = response.status_code
    if status in RETRY_STATUSES:
        raise Retryable(f"HTTP {status}", retry_after=_retry_after(response.headers.get("Retry-After")))
    if status == 200:
        try:
            return parse(response.content)
        except MalformedResponse as exc:
            raise Retryable(str(exc), exc) from exc  # arXiv sometimes cuts a response short
    with contextlib.suppress(MalformedResponse, Retryable):
        parse(response.content)  # arXiv's error feeds raise their own message (ArxivAPIError, ArxivError)
    raise ArxivError(f"arXiv answered HTTP {status} for {response.url}")


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; 0 if absent or unreadable."""
    if not value:
        return 0.0
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def _host(url: str) -> str:
    return httpx.URL(url).host or url


def _describe(exc: httpx.TransportError) -> str:
    return f"network error: {type(exc).__name__}" + (f" ({exc})" if str(exc) else "")
