"""Citations out of the catalog: RIS, BibTeX and CSL-JSON, as reference managers import them.

Researchers cite what they find, so every record becomes one reference of the type a citation
manager would give it (a RAND report is a report, a blog post a post, testimony a hearing, an
article a journal article), with authors split into family and given names. BibTeX keys are
derived from the whole catalog (``citation_keys``) so that a search, a ``show`` and a full
export give a publication the same key, and the same catalog always gives the same keys.

Writing is left to maintained libraries where a format has rules of its own: ``rispy`` for RIS
and ``bibtexparser`` (v2) for BibTeX. CSL-JSON is plain JSON after the CSL schema. No click here.
"""

from catalog.citations.references import (
    ARTICLE,
    BIBTEX_TYPES,
    CSL_TYPES,
    DOCUMENT,
    FORMATS,
    MONTHS,
    POST,
    REPORT,
    RIS_TYPES,
    SPEECH,
    Name,
    abstract,
    base_key,
    citation_keys,
    date_parts,
    full_title,
    key,
    kind,
    publisher,
    split_name,
)
from catalog.citations.writers import (
    bibtex_entry,
    csl_item,
    latex_escape,
    ris_entry,
    write,
    write_bibtex,
    write_csl_json,
    write_ris,
)

__all__ = [
    "ARTICLE",
    "BIBTEX_TYPES",
    "CSL_TYPES",
    "DOCUMENT",
    "FORMATS",
    "MONTHS",
    "Name",
    "POST",
    "REPORT",
    "RIS_TYPES",
    "SPEECH",
    "abstract",
    "base_key",
    "bibtex_entry",
    "citation_keys",
    "csl_item",
    "date_parts",
    "full_title",
    "key",
    "kind",
    "latex_escape",
    "publisher",
    "ris_entry",
    "split_name",
    "write",
    "write_bibtex",
    "write_csl_json",
    "write_ris",
]
