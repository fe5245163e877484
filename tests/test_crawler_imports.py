"""The crawling floor's imports point down only: the core never imports ``crawler``, ``crawler``
never imports the app, and ``crawler``'s own modules have no cycle.

Read from the source (every ``import``, at module level or inside a function), so an import
that would only run on some path counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

# The app floor: the command line and what only it uses (it may import crawler).
APP = ("catalog.cli", "catalog.demo", "catalog.output", "catalog.localsite", "catalog.web")
APP += ("catalog.__main__",)


def modules() -> dict[str, Path]:
    found = {}
    for package in ("catalog", "crawler"):
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(known: dict[str, Path]) -> dict[str, set[str]]:
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
    graph = imports(modules())
    up = [
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if (source.startswith("catalog") and not source.startswith(APP))
        and target.startswith("crawler")
        or source.startswith("crawler")
        and target.startswith(APP)
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
