"""The Scrapy stats keys the crawl writes and reads, named once.

The spider counts pages and problems, the run component copies them into the run's row and
records how the run ended, and the commands (``catalog crawl``, ``scrapy crawl``) read that
back: a key spelt differently in one of those places would count nothing and fail no test.
Scrapy dumps every stat at the end of its log, so an operator reading a Scrapyd job's log sees
these names too.
"""

from __future__ import annotations

# --- counted by the spider (copied into crawl_runs when the run ends) ----------------------
PAGES_FETCHED = "catalog/pages_fetched"  # listing pages answered, 304s included
PAGES_NOT_MODIFIED = "catalog/pages_not_modified"  # of those, 304 Not Modified
ITEMS_SKIPPED = "catalog/items_skipped"  # teasers without a title or link
DETAIL_PAGES = "catalog/detail_pages"  # publication pages answered or failed
DETAILS_SKIPPED = "catalog/details_skipped"  # publication pages on hosts the crawl does not visit
DETAILS_OFF_SITE = "catalog/details_off_site"  # publication pages that redirected off the site
WARNINGS = "catalog/warnings"  # problems that cost a field but not the run

# --- written by the run component (crawler.catalog_run) ------------------------------------
RUN_ID = "catalog/run_id"  # the crawl_runs row of this crawl
START_ERROR = "catalog/start_error"  # why the run could not start (no run_id then)
RUN_STATUS = "catalog/run_status"  # how the run ended: succeeded, failed, interrupted
RUN_ERROR = "catalog/run_error"  # the run's cause of failure, as recorded (or not)

# --- Scrapy's own ---------------------------------------------------------------------------
FINISH_REASON = "finish_reason"  # why the spider closed: finished, shutdown, ...
SPIDER_EXCEPTIONS = "spider_exceptions/count"  # exceptions raised in spider callbacks
