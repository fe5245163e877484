"""Page objects: (url, html) in, typed records out. No Scrapy, no database."""
