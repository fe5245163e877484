"""The Scrapy project: page objects parse, spiders navigate, pipelines store."""
