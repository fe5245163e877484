"""Three floors, arrows down only: the app on the crawler, the crawler on the core.

Read from the source (every import, at the top of a module or inside a function): the catalog
core never imports the crawler or the app, the crawler never imports the app, and the
crawler's modules import each other without a cycle. The core
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


# --- the graph of modules: what imports what, and cycles -------------------------------------
# (each import counted at the nearest project module it names: `from catalog.index import x`
# is an arrow to `catalog.index`)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in ("catalog", "crawler"):
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def import_graph(known: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``known`` it imports (the nearest known ancestor of each)."""

    def owner(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in map(owner, targets) if t and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_imports_point_down_and_the_crawler_has_no_cycle():
    graph = import_graph(project_modules())
    up = [
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if (source.startswith("catalog") and not source.startswith(APP + APP_FILES))
        and target.startswith("crawler")
        or source.startswith("crawler")
        and target.startswith(APP + APP_FILES)
    ]
    assert up == []
    crawler = {name: {t for t in ts if t.startswith("crawler")} for name, ts in graph.items()}
    crawler = {name: ts for name, ts in crawler.items() if name.startswith("crawler")}
    assert cycles(crawler) == []
    # The settings builder and the environment table sit below the run, the pipeline and the
    # spider: none of those is imported by them.
    assert graph["crawler.environment"] <= {"catalog", "catalog.config", "catalog.errors"}
    assert not {t for t in graph["crawler.settings_builder"] if t.startswith("crawler")} - {
        "crawler.environment"
    }
