"""Every publisher's page objects against their stored pages, found through the registry.

Each case under ``tests/fixtures/pages/<publisher>/<case>/`` must parse to its expected.json
(regenerated only by ``scripts/regen_page_fixtures.py``), and every page object the registry
holds must have cases: a publisher added without them fails here.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from crawler.pages import registry
from tests.conftest import FIXTURES

ROOT = FIXTURES / "pages"
CASES = sorted(p.parent for p in ROOT.glob("*/*/meta.json"))


def _regen_script() -> Any:
    """scripts/regen_page_fixtures.py, whose reading of a case the tests share."""
    path = Path(__file__).resolve().parent.parent / "scripts" / "regen_page_fixtures.py"
    spec = importlib.util.spec_from_file_location("regen_page_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REGEN = _regen_script()


def _meta(case: Path) -> dict[str, Any]:
    return json.loads((case / "meta.json").read_text(encoding="utf-8"))


def differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where two outputs differ, each difference named by its field's path."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            out += differences(actual.get(key), expected.get(key), f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(actual)} items, expected {len(expected)}"]
        out = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            out += differences(a, e, f"{path}[{i}]")
        return out
    return [] if actual == expected else [f"{path}: got {actual!r}, expected {expected!r}"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_page_case(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    found = differences(REGEN.parse_case(case), expected)
    assert not found, "\n".join(found)


def test_every_registered_page_object_has_cases() -> None:
    covered = {(c.parent.name, _meta(c)["page_object"]) for c in CASES}
    missing = [
        f"{publisher.key}/{name}"
        for publisher in registry.PUBLISHERS
        for name in publisher.page_objects
        if (publisher.key, name) not in covered
    ]
    assert not missing, f"page objects without cases: {missing}"


def test_every_case_belongs_to_a_registered_page_object() -> None:
    for case in CASES:
        publisher = registry.by_key(case.parent.name)  # KeyError: a folder of no publisher
        assert _meta(case)["page_object"] in publisher.page_objects, case
        assert len(list(case.glob("input.*"))) == 1, case


def test_a_case_folder_of_no_publisher_is_an_error(tmp_path) -> None:
    case = tmp_path / "nobody" / "x"
    case.mkdir(parents=True)
    (case / "meta.json").write_text('{"page_object": "X", "url": "https://x.org/"}')
    (case / "input.html").write_text("<html></html>")
    with pytest.raises(KeyError, match="no publisher 'nobody'"):
        REGEN.parse_case(case)
