"""Retries with exponential backoff that honour the server's Retry-After."""

from __future__ import annotations

import email.utils
import time
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet import task


def retry_delay(
    attempt: int,
    retry_after: str | None = None,
    *,
    base: float = 2.0,
    cap: float = 60.0,
    retry_after_max: float = 300.0,
    now: float | None = None,
) -> float | None:
    """Seconds to wait before retry number ``attempt + 1``; None when the server asks too much.

    Retry-After (seconds or an HTTP date) wins over the exponential ``base * 2**attempt``.
    """
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            seconds = float(value)
        else:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is None:
                seconds = 0.0
            else:
                seconds = max(0.0, parsed.timestamp() - (now if now is not None else time.time()))
        return None if seconds > retry_after_max else seconds
    return min(cap, base * (2**attempt))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, waiting between attempts instead of retrying at once."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            from twisted.internet import reactor

            await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))

    async def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        header = response.headers.get("Retry-After")
        delay = retry_delay(
            request.meta.get("retry_times", 0),
            header.decode("latin-1") if header else None,
            base=self.backoff_base,
            cap=self.backoff_max,
            retry_after_max=self.retry_after_max,
        )
        if delay is None:  # asked to come back much later: give up now, the run reports it
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._wait(delay)
        return retry

    async def process_exception(
        self, request: Request, exception: Exception, spider: Any = None
    ) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await self._wait(
                retry_delay(
                    request.meta.get("retry_times", 0), base=self.backoff_base, cap=self.backoff_max
                )
                or 0.0
            )
        return retry
