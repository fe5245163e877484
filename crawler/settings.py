"""Scrapy settings: the defaults of every crawl, polite by default, one pipeline into the catalog.

These are the defaults only. catalog.toml's ``[crawl]`` table, the ``CATALOG_*`` environment
variables and the command line go on top of them, in that order, through one builder
(:mod:`crawler.settings_builder`), whichever way the crawl starts: ``catalog crawl`` calls it,
and ``scrapy crawl`` and Scrapyd get it through the add-on in ``ADDONS`` below. Nothing here
reads the environment: a value read at import would be the one setting that ignores that order.
"""

BOT_NAME = "thinktank_catalog"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Our `scrapy crawl` exits 1 when the catalog run failed or was interrupted (Scrapyd, cron),
# 2 on a bad catalog.toml or CATALOG_* variable, 3 when another crawl holds a lock.
COMMANDS_MODULE = "crawler.commands"
# catalog.toml, the CATALOG_* environment and the local-site rule, for `scrapy crawl` and
# Scrapyd too (`catalog crawl` builds the same settings before it starts Scrapy).
ADDONS = {"crawler.settings_builder.CatalogSettings": 0}

# Who we are and how the site's owners reach the operator (catalog.toml: contact).
USER_AGENT = (
    "thinktank-catalog/0.1 (+https://pypi.org/project/thinktank-catalog/; "
    "publication catalog for policy research)"
)
ROBOTSTXT_OBEY = True

# Pace: one request at a time per host, at least a second apart, slower when the host is slow.
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 2.0  # seconds; doubles each attempt
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0  # a Retry-After longer than this gives up instead of waiting
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # Same filter, but a redirect off the site is reported to the spider instead of vanishing.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.ReportingOffsiteMiddleware": 50,
    # Between decompression (590) and meta refresh (580), the first to read the text:
    # undeclared non-UTF-8 pages are read as cp1252.
    "crawler.middlewares.LegacyEncodingMiddleware": 585,
    # Before HttpProxyMiddleware (750): mapped hosts are fetched from their server (the demo).
    "crawler.middlewares.HostMapMiddleware": 740,
}
# Host name -> server URL to fetch its pages from, e.g. {"catalog-demo.invalid":
# "http://127.0.0.1:8765"}; the URLs stored stay the host's (see HostMapMiddleware).
CATALOG_HOST_MAP: dict[str, str] = {}
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # a listing page is ~100 KB; anything this big is not one
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

ITEM_PIPELINES = {"crawler.pipelines.CatalogPipeline": 300}

# The catalog's own settings; the environment variable of each is in crawler.settings_builder.
# Where the catalog lives: None means the CATALOG_HOME / CATALOG_DB variables, else the
# per-user data folder (as for every `catalog` command).
CATALOG_HOME = None
CATALOG_DB = None
CATALOG_BATCH_SIZE = 200  # records per database transaction, at most
CATALOG_BATCH_SECONDS = 5.0  # seconds a record waits for its batch, at most
# Publications stored between index syncs (and one more at the end). Large enough that index
# commits are rare, small enough that a long crawl's searches are not far behind.
CATALOG_INDEX_EVERY = 5_000
# Publication pages retried or read for the first time at the start of a crawl, at most.
CATALOG_DETAILS_PER_RUN = 500
# Listing pages per topic walk, at most: a walk that reaches this fails the run (a listing
# whose pagination never ends). `catalog crawl --pages N` (`-a pages=N`) is a deliberate
# short walk instead, which succeeds.
CATALOG_MAX_LISTING_PAGES = 500

EXTENSIONS = {
    # Feeds (`scrapy crawl rand_topic -O out.jsonl`) hold publication records only, never the
    # crawl's control records (topic walks, listing validators, detail failures).
    "scrapy.extensions.feedexport.FeedExporter": None,
    "crawler.extensions.PublicationFeedExporter": 0,
    # Ctrl-C / SIGTERM: say so at once, stop after the requests in flight (not the queue).
    "crawler.extensions.PromptStop": 0,
    # The run: locks, schema upgrade, the crawl_runs row, the spider's view of the catalog,
    # the index syncs at start and end. Enabled whenever the catalog pipeline is.
    "crawler.catalog_run.CatalogRun": 10,
}

# No consoles into a running crawl: the catalog needs no code-execution endpoint.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
