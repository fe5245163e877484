"""schema.org JSON-LD: the node of a page that describes the publication, read into fields.

Apart from the other sources of :mod:`crawler.pages.generic.metadata` because it is the one
with structure to follow: a plain object, a list, or a Yoast-style ``@graph`` whose nodes point
at one another by ``@id`` (the author, the publisher, the web page), several of which may
claim to be the page's subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from crawler.pages.common import clean_text, fragment_text, person_names
from crawler.pages.generic.metadata import (
    _PDF_PATH,
    PAGE_TYPES,
    PUBLICATION_TYPES,
    Fields,
    _is_kind,
    _present,
    _split_keywords,
    _strings,
    _text,
    doi_in,
)


def json_ld_nodes(tree: Any) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, ``@graph`` members included, in page order.

    One script at a time: a script that is not JSON (a stray comma, an HTML comment, a
    template left unfilled) is passed over and costs no other script its data.
    """
    from extruct.jsonld import JsonLdExtractor

    extractor = JsonLdExtractor()
    nodes: list[dict[str, Any]] = []
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            items = extractor.extract_items(script)
        except Exception:  # noqa: BLE001 - see above
            continue
        for item in items:
            nodes.extend(_flatten(item))
    return nodes


def _flatten(item: Any) -> Iterator[dict[str, Any]]:
    if isinstance(item, list):
        for member in item:
            yield from _flatten(member)
    elif isinstance(item, dict):
        graph = item.get("@graph")
        if isinstance(graph, (list, dict)):
            yield from _flatten(graph)
        else:
            yield item


def types_of(node: dict[str, Any]) -> list[str]:
    """A node's schema.org types, lower case, without prefixes (``schema:Report``)."""
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return [re.split(r"[/#:]", v)[-1].lower() for v in values if isinstance(v, str) and v]


class JsonLd:
    """The page's JSON-LD nodes, with ``@id`` references followed."""

    def __init__(self, nodes: list[dict[str, Any]], url: str) -> None:
        self.nodes = nodes
        self.url = url
        self.by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}

    def resolve(self, value: Any) -> Any:
        """A ``{"@id": ...}`` reference replaced by the node it names (when the page has it)."""
        if isinstance(value, dict) and set(value) <= {"@id", "@type"} and "@id" in value:
            return self.by_id.get(value["@id"], value)
        return value

    def main(self) -> dict[str, Any] | None:
        """The node describing the publication: of a publication type, the page's own first."""
        candidates = [n for n in self.nodes if any(t in PUBLICATION_TYPES for t in types_of(n))]
        for node in candidates:
            if self._is_this_page(node):
                return node
        return candidates[0] if candidates else None

    def page(self) -> dict[str, Any] | None:
        """The node describing the web page itself (Yoast's ``WebPage``)."""
        return next((n for n in self.nodes if any(t in PAGE_TYPES for t in types_of(n))), None)

    def _is_this_page(self, node: dict[str, Any]) -> bool:
        own = self.url.split("#")[0].rstrip("/")
        for key in ("url", "@id", "mainEntityOfPage"):
            value = self.resolve(node.get(key))
            if isinstance(value, dict):
                value = value.get("@id") or value.get("url")
            if isinstance(value, str) and value.split("#")[0].rstrip("/") == own:
                return True
        return False

    def names(self, value: Any) -> list[str]:
        """Names of people or organisations: strings, objects, references, lists of them."""
        found: list[str] = []
        for item in value if isinstance(value, list) else [value]:
            item = self.resolve(item)
            if isinstance(item, str):
                found += person_names(item)
            elif isinstance(item, dict):
                name = _text(item.get("name"))
                if not name:
                    name = clean_text(
                        f"{_text(item.get('givenName'))} {_text(item.get('familyName'))}"
                    )
                if name:
                    found.append(name)
        return found

    def fields(self) -> Fields:
        main = self.main()
        page = self.page()
        if main is None and page is None:
            return {}
        node = main or {}
        kinds = types_of(node)
        label = next((PUBLICATION_TYPES[t] for t in kinds if PUBLICATION_TYPES.get(t)), "")
        sections = _strings(node.get("articleSection")) or _strings(node.get("genre"))
        found: Fields = {
            "title": _text(node.get("headline")) or _text(node.get("name")),
            "subtitle": _text(node.get("alternativeHeadline")),
            "type": label or next((s for s in sections if _is_kind(s)), ""),
            "category": _text(node.get("@type")),
            "date": _text(node.get("datePublished")) or _text(node.get("dateCreated")),
            "authors": self.names(node.get("author")) or self.names(node.get("creator")),
            "abstract": fragment_text(_text(node.get("abstract")))
            or fragment_text(_text(node.get("description")))
            or (fragment_text(_text(page.get("description"))) if page else ""),
            "keywords": _split_keywords(_strings(node.get("keywords"))),
            "doi": self._doi(node),
            "pdf": self._pdf(node),
            "publisher": next(iter(self.names(node.get("publisher"))), "")
            or next(iter(self.names(node.get("sourceOrganization"))), ""),
            "isbn": _text(node.get("isbn")),
            "journal": self._part_of(node, ("periodical", "publicationvolume", "publicationissue")),
            "series": self._part_of(node, ("creativeworkseries", "bookseries")),
            "page_count": _text(node.get("numberOfPages")),
            "body": fragment_text(_text(node.get("articleBody"))),
            "is_publication": main is not None,
        }
        if main is None:  # a WebPage alone: its title is the page's, not a publication's
            found["title"] = ""
        return _present(found)

    def _doi(self, node: dict[str, Any]) -> str:
        values: list[Any] = []
        for key in ("doi", "identifier", "sameAs", "url"):
            raw = node.get(key)
            values += raw if isinstance(raw, list) else [raw]
        for value in values:
            value = self.resolve(value)
            if isinstance(value, dict):
                value = value.get("value") or value.get("@id") or value.get("url")
            doi = doi_in(value if isinstance(value, str) else "")
            if doi:
                return doi
        return ""

    def _pdf(self, node: dict[str, Any]) -> str:
        for key in ("encoding", "associatedMedia", "distribution", "hasPart"):
            raw = node.get(key)
            for item in raw if isinstance(raw, list) else [raw]:
                item = self.resolve(item)
                if not isinstance(item, dict):
                    continue
                url = _text(item.get("contentUrl")) or _text(item.get("url"))
                kind = _text(item.get("encodingFormat")).lower()
                if url and ("pdf" in kind or _PDF_PATH.search(url)):
                    return url
        url = _text(node.get("url"))
        return url if _PDF_PATH.search(url) else ""

    def _part_of(self, node: dict[str, Any], kinds: tuple[str, ...]) -> str:
        """The name of the periodical or series the node is part of (never the web site a
        Yoast ``isPartOf`` points to)."""
        seen = 0
        value = node.get("isPartOf")
        while value is not None and seen < 4:
            seen += 1
            value = self.resolve(value[0] if isinstance(value, list) and value else value)
            if not isinstance(value, dict):
                return ""
            if any(t in kinds for t in types_of(value)):
                return _text(value.get("name"))
            value = value.get("isPartOf")
        return ""
