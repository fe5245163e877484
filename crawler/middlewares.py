"""Downloader middlewares: polite retries, loud off-site redirects, legacy page encodings.

- ``BackoffRetryMiddleware``: exponential backoff between retries, honouring Retry-After.
- ``ReportingOffsiteMiddleware``: Scrapy's off-site filter drops a request that a redirect sent
  to another host without telling the spider; this one tells it, so the run can fail.
- ``LegacyEncodingMiddleware``: a page that declares no encoding and is not UTF-8 is read as
  Windows-1252 (what browsers do), never as ASCII with replacement characters.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet import task
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom


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

    Retry-After (seconds or an HTTP date) wins over the exponential ``base * 2**attempt``. A
    Retry-After that is neither ("soon", "-5", garbage) is ignored: the default backoff applies
    and the request is still retried, since a server's typo must not end a crawl.
    """
    seconds = _retry_after_seconds(retry_after, now) if retry_after else None
    if seconds is None:
        return min(cap, base * (2**attempt))
    return None if seconds > retry_after_max else seconds


def _retry_after_seconds(value: str, now: float | None) -> float | None:
    """Seconds a Retry-After header asks for, or None when it is not a number or an HTTP date."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or parsed.tzinfo is None:  # HTTP dates are always GMT
        return None
    return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))


class CrawlStopping(IgnoreRequest):
    """A request given up because the crawl is stopping (Ctrl-C, SIGTERM, a failed run).

    Not a failure of the page: spiders pass it over, and Scrapy logs it quietly.
    """


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, waiting between attempts instead of retrying at once."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)
        self.waits: set[Any] = set()  # backoffs under way, cancelled when the crawl stops

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            from twisted.internet import defer, reactor

            wait = task.deferLater(reactor, seconds, lambda: None)
            self.waits.add(wait)
            try:
                await maybe_deferred_to_future(wait)
            except defer.CancelledError:
                raise CrawlStopping("the crawl is stopping: retry abandoned") from None
            finally:
                self.waits.discard(wait)

    def cancel_waits(self) -> None:
        """Stop every backoff now: a stopping crawl does not wait a minute to retry."""
        for wait in list(self.waits):
            wait.cancel()

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


# Set by a spider's request to say what losing it would mean ("listing" pages end the run).
META_ROLE = "catalog_role"
# Sent when a request is dropped because a redirect led off the allowed hosts:
# receivers get ``request`` (the redirected one, with ``redirect_urls`` in its meta).
request_left_site = object()


class ReportingOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's off-site filter, plus a signal when what it drops came from a redirect.

    Scrapy filters requests at scheduling time without calling their errback, so a listing
    page that redirects to another host would simply vanish and the run would "succeed".
    """

    def process_request(self, request: Request, spider: Any = None) -> None:
        try:
            super().process_request(request)
        except IgnoreRequest:
            if request.meta.get("redirect_urls"):
                self.crawler.signals.send_catch_log(request_left_site, request=request)
            raise


class HostMapMiddleware:
    """Fetch the pages of a mapped host from another server: ``CATALOG_HOST_MAP`` maps a host
    name to a server URL (``{"catalog-demo.invalid": "http://127.0.0.1:8765"}``).

    The request goes to that server as to an HTTP proxy, so its URL (what the catalog stores)
    stays the mapped host's whatever port the server has: the demo's sample site keeps the same
    URLs from run to run. Runs before Scrapy's HttpProxyMiddleware, which does the rest.
    """

    def __init__(self, host_map: dict[str, str]) -> None:
        self.host_map = host_map

    @classmethod
    def from_crawler(cls, crawler: Any) -> HostMapMiddleware:
        return cls(crawler.settings.getdict("CATALOG_HOST_MAP"))

    def process_request(self, request: Request, spider: Any = None) -> None:
        server = self.host_map.get(urlsplit(request.url).hostname or "")
        if server is not None:
            request.meta["proxy"] = server


LEGACY_ENCODING = "cp1252"


class LegacyEncodingMiddleware:
    """Read undeclared non-UTF-8 pages as Windows-1252 instead of guessing.

    With no charset in the header, a BOM or a ``<meta>``, Scrapy tries ASCII, then UTF-8, then
    a statistical guess, which reads a RAND listing page with a few curly quotes and dashes as
    cp775 (Baltic): mojibake in every title. Undeclared pages that are not UTF-8 are, in
    practice, Windows-1252 (the HTML standard's fallback for English), which decodes every byte.
    """

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        if not isinstance(response, TextResponse) or _declared_encoding(response):
            return response
        try:
            response.body.decode("utf-8")
        except UnicodeDecodeError:
            return response.replace(encoding=LEGACY_ENCODING)
        return response


def _declared_encoding(response: TextResponse) -> str | None:
    """The encoding the response itself declares (BOM, header or ``<meta>``), if any."""
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    return (
        read_bom(response.body)[0]
        or http_content_type_encoding(content_type)
        or html_body_declared_encoding(response.body)
    )
