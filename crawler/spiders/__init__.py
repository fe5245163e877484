"""Spiders: which pages to fetch and which links to follow; parsing lives in crawler.pages."""
