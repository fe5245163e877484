"""Rewrite every page case's expected.json from the current page objects.

Run by a person after a deliberate parser change (``python scripts/regen_page_fixtures.py``),
then read the diff: the tests never regenerate their own expectations.
"""

from __future__ import annotations

import json
from pathlib import Path

from crawler.pages import rand

CASES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"
PAGE_OBJECTS = {"RandTopicPage": rand.RandTopicPage, "RandProductPage": rand.RandProductPage}


def parse_case(case: Path) -> dict:
    """The page object's output for a stored case (tests compare it with expected.json)."""
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    page = PAGE_OBJECTS[meta["page_object"]](
        meta["url"], (case / "input.html").read_text(encoding="utf-8")
    )
    return page.parse().to_dict()


def main() -> None:
    for meta in sorted(CASES.glob("*/*/meta.json")):
        expected = parse_case(meta.parent)
        text = json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (meta.parent / "expected.json").write_text(text, encoding="utf-8")
        print(f"wrote {meta.parent / 'expected.json'}")


if __name__ == "__main__":
    main()
