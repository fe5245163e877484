"""What the crawl's log records may carry for the handlers that print them."""

# A record whose message the command restates as its final one-line error (a failed run's
# cause): stderr skips it, so a failure is said once; the log file keeps it.
RESTATED = "catalog_restated"
