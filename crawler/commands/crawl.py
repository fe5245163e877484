"""``scrapy crawl``, exiting 1 when the catalog run failed or was interrupted.

Scrapy's own ``crawl`` exits 0 whenever the crawler started, however the run went. Scrapyd,
cron and shell scripts only see the exit status, so a failed run (a listing that failed, a
redirect loop, a pagination that never ended) must not look like success there.
"""

from __future__ import annotations

import argparse
import sys

from scrapy import Spider
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler

STAT_RUN_STATUS = "catalog/run_status"  # set by crawler.pipelines.CatalogPipeline at the end
FAILED_STATUSES = ("failed", "interrupted")


def run_status(crawler: Crawler) -> str | None:
    """The catalog run's final status, or None when the pipeline never recorded one."""
    return crawler.stats.get_value(STAT_RUN_STATUS) if crawler.stats else None


class Command(ScrapyCrawlCommand):
    """Scrapy's ``crawl``; afterwards, the exit status says how the catalog run ended."""

    crawler: Crawler | None = None

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        # The process forgets its crawlers once they finish; keep ours to read its stats.
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        if self.crawler is not None and self.exitcode == 0:
            self._check(self.crawler)

    def _check(self, crawler: Crawler) -> None:
        status = run_status(crawler)
        reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
        if status in FAILED_STATUSES:
            print(f"catalog run {status} (see the log above)", file=sys.stderr)
            self.exitcode = 1
        elif status is None and reason != "finished":
            # the run never started (another crawl held the lock) or the spider stopped early
            print(f"catalog run did not complete: {reason or 'no run recorded'}", file=sys.stderr)
            self.exitcode = 1
