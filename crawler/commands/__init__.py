"""Project commands for ``scrapy``: ``crawl`` that exits non-zero when the catalog run failed."""
