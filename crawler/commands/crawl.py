"""``scrapy crawl``, with the exit codes of ``catalog crawl``.

Scrapy's own ``crawl`` exits 0 whenever the crawler started, however the run went. Scrapyd,
cron and shell scripts only see the exit status, so a failed run (a listing that failed, a
redirect loop, a pagination that never ended) must not look like success there:

- 0: the catalog run succeeded;
- 1: it failed, was interrupted, or could not start (a newer schema, a full disk);
- 2: a bad catalog.toml, ``CATALOG_*`` variable, catalog ``-s`` setting or ``-a pages``;
- 3: another crawl holds the home's lock or one of its topics.

The settings are built (:func:`crawler.settings_builder.build_settings`) before the crawler
is made, so a bad value is refused in one line before anything starts; the add-on then finds
them built and only applies the site rules.
"""

from __future__ import annotations

import argparse
import logging

from scrapy import Spider
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler

from catalog.errors import ConfigError, UsageError
from crawler import stats as keys
from crawler.catalog_run import CatalogRun
from crawler.settings_builder import build_settings
from crawler.spiders.rand_topic import short_walk

logger = logging.getLogger(__name__)

FAILED_STATUSES = ("failed", "interrupted")
EXIT_FAILED = 1


def run_status(crawler: Crawler) -> str | None:
    """The catalog run's final status, or None when the run never recorded one."""
    run = CatalogRun.of(crawler)
    return run.status if run is not None else None


class Command(ScrapyCrawlCommand):
    """Scrapy's ``crawl``; afterwards, the exit status says how the catalog run ended."""

    crawler: Crawler | None = None

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        # The process forgets its crawlers once they finish; keep ours to read its run.
        crawler = super()._create_crawler(spidercls)
        build_settings(crawler.settings)  # ConfigError: refused before the crawl starts
        self.crawler = crawler
        return crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        try:
            for name in ("pages", "max_pages"):
                short_walk(opts.spargs.get(name), name)
        except ValueError as exc:
            self._refuse(UsageError(f"-a {exc}"))
            return
        try:
            super().run(args, opts)
        except ConfigError as exc:
            self._refuse(exc)
            return
        if self.crawler is not None and self.exitcode == 0:
            self._check(self.crawler)

    def _refuse(self, error: UsageError) -> None:
        """A bad value: one line (in the log, wherever Scrapy writes it), exit code 2."""
        logger.error("%s", error)
        self.exitcode = error.exit_code

    def _check(self, crawler: Crawler) -> None:
        run = CatalogRun.of(crawler)
        if run is not None and run.start_error is not None:
            logger.error("catalog run did not start: %s", run.start_error)
            self.exitcode = run.start_error.exit_code
            return
        status = run.status if run is not None else None
        try:
            stats = crawler.stats
        except RuntimeError:  # Scrapy 2.14+: the crawler never got as far as its stats
            stats = None
        reason = stats.get_value(keys.FINISH_REASON) if stats is not None else None
        if status in FAILED_STATUSES:
            logger.error("catalog run %s (see the log above)", status)
            self.exitcode = EXIT_FAILED
        elif status is None and reason != "finished":
            # the spider stopped before the run started, or there is no run component
            logger.error("catalog run did not complete: %s", reason or "no run recorded")
            self.exitcode = EXIT_FAILED
