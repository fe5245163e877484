"""Renderers shared by every command: table, CSV, TSV, JSON, JSON Lines and citations.

Data goes to stdout in the chosen format; nothing else is printed there. Tables are drawn to
fit the terminal (with ``rich``) only when stdout is one; piped or redirected output keeps the
plain, unwrapped layout scripts have always read. Files are written through
``atomic_output`` so that a failed export never leaves a broken or half-written file.
"""

from catalog.output.formats import (
    BOM,
    CITATION_FORMATS,
    DATA_FORMATS,
    FORMATS,
    HIT_JSON_COLUMNS,
    SIMILAR_JSON_COLUMNS,
    atomic_output,
    cell,
    render,
    render_search_json,
    to_json,
    tsv_escape,
)
from catalog.output.publication import render_publication
from catalog.output.terminal import render_facets, render_hits, render_table, terminal_width, wrap

__all__ = [
    "BOM",
    "CITATION_FORMATS",
    "DATA_FORMATS",
    "FORMATS",
    "HIT_JSON_COLUMNS",
    "SIMILAR_JSON_COLUMNS",
    "atomic_output",
    "cell",
    "render",
    "render_facets",
    "render_hits",
    "render_publication",
    "render_search_json",
    "render_table",
    "terminal_width",
    "to_json",
    "tsv_escape",
    "wrap",
]
