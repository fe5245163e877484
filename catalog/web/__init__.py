"""`catalog serve`: the catalog on web pages, Atom feeds and a JSON API, read-only.

- :mod:`~catalog.web.app`: the ASGI application (FastAPI), its headers, limits and errors.
- :mod:`~catalog.web.answers`: what every route answers with (ETags, pages, JSON, errors).
- :mod:`~catalog.web.pages`: the HTML pages and the feeds; :mod:`~catalog.web.api`: the API.
- :mod:`~catalog.web.service`: the catalog opened read-only and the search index kept open.
- :mod:`~catalog.web.params`: query parameters checked as the command line checks options.
- :mod:`~catalog.web.render`, :mod:`~catalog.web.feeds`: escaped HTML, and Atom.
- :mod:`~catalog.web.server`: the socket and uvicorn.

Imported only by `catalog serve` (and tests): no other command loads the web stack.
"""
