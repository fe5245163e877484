"""Rewrite every page case's expected.json from the current page objects.

Run by a person after a deliberate parser change (``python scripts/regen_page_fixtures.py``),
then read the diff: the tests never regenerate their own expectations. A case lives in
``tests/fixtures/pages/<publisher>/<case>/``: ``meta.json`` names the page object (one of that
publisher's in ``crawler.pages.registry``) and the page's URL, ``input.html`` or ``input.xml``
is the page as served.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.pages import registry

CASES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"


def case_input(case: Path) -> str | bytes:
    """The stored page: an HTML page as text (UTF-8), a feed as the bytes it was served as
    (its XML declaration names its encoding)."""
    inputs = sorted(case.glob("input.*"))
    if len(inputs) != 1:
        raise ValueError(f"{case}: expected one input.html or input.xml, found {len(inputs)}")
    if inputs[0].suffix == ".xml":
        return inputs[0].read_bytes()
    return inputs[0].read_text(encoding="utf-8")


def parse_case(case: Path) -> dict[str, Any]:
    """The page object's output for a stored case (tests compare it with expected.json)."""
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    page_object = registry.by_key(case.parent.name).page_objects[meta["page_object"]]
    return page_object(meta["url"], case_input(case)).parse().to_dict()


def main() -> None:
    for meta in sorted(CASES.glob("*/*/meta.json")):
        expected = parse_case(meta.parent)
        text = json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (meta.parent / "expected.json").write_text(text, encoding="utf-8")
        print(f"wrote {meta.parent / 'expected.json'}")


if __name__ == "__main__":
    main()
