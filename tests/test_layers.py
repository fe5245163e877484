"""Three floors, arrows down only: the app on the crawler, the crawler on the core.

Read from the source (every import, at the top of a module or inside a function): the catalog
core never imports the crawler or the app, and the crawler never imports the app. The core
is what a librarian's script or the web view may use without Scrapy; the crawler is what a
Scrapyd egg carries; the app (command line, output, demo, the local site, the web view) is
what people run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
APP = ("catalog.cli", "catalog.output", "catalog.demo", "catalog.localsite", "catalog.web")
APP_FILES = ("catalog.__main__",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor(module: str) -> str:
    if module.startswith("crawler"):
        return "crawler"
    if module in APP_FILES or any(module == a or module.startswith(a + ".") for a in APP):
        return "app"
    return "core"


def imports(path: Path) -> set[str]:
    """Every project module a file imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in ("catalog", "crawler")}


SOURCES = sorted(p for package in ("catalog", "crawler") for p in (REPO / package).rglob("*.py"))
RANK = {"core": 0, "crawler": 1, "app": 2}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_import_runs_back_up(path: Path) -> None:
    mine = floor(module_name(path))
    upward = sorted(m for m in imports(path) if RANK[floor(m)] > RANK[mine])
    assert upward == [], f"{mine} module imports a higher floor"


def test_the_floors_are_what_the_house_style_says() -> None:
    assert floor("catalog.store.writer") == floor("catalog.index.sync") == "core"
    assert floor("crawler.run") == floor("crawler.pages.rand") == "crawler"
    assert floor("catalog.cli.searching") == floor("catalog.output.terminal") == "app"
    assert len(SOURCES) > 50
