"""What a read command loads: a search must not pay for Alembic, the ORM, Scrapy or citations.

Start-up time itself is measured by ``benchmarks/bench_startup.py``; this pins the imports
that made it slow, in a real process, as a user runs the command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, catalog_command, clean_env

# Loaded only by the commands that need them: migrations, crawls, citation formats.
NOT_ON_THE_READ_PATH = (
    "alembic",
    "sqlalchemy.orm",
    "scrapy",
    "twisted",
    "rispy",
    "bibtexparser",
    # the web stack: `catalog serve` alone
    "catalog.web",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "feedgen",
)


def imported_modules(args: list[str]) -> set[str]:
    """Every module a ``python -m catalog ...`` process imports (from ``-X importtime``)."""
    command = [sys.executable, "-X", "importtime", *args[1:]]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=clean_env(), cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    }


def loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


@pytest.mark.parametrize(
    "args",
    [
        ("search", "alliances"),
        ("search", "alliances", "--json"),
        ("show", "1"),
        ("stats",),
        ("sql", "select count(*) from publications"),
    ],
    ids=lambda a: " ".join(a),
)
def test_read_commands_load_no_alembic_orm_or_crawler(crawled_home: Path, args: tuple) -> None:
    modules = imported_modules(catalog_command(crawled_home, *args))
    assert "catalog.cli" in modules and "sqlalchemy" in modules  # the probe sees imports
    assert [p for p in NOT_ON_THE_READ_PATH if loaded(modules, p)] == []


def test_a_tantivy_home_loads_no_whoosh(crawled_home: Path, tmp_path: Path) -> None:
    """The engine a home does not use costs it nothing: Whoosh alone takes longer to import
    than tantivy's whole library."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(crawled_home, home)
    (home / "catalog.toml").write_text('[search]\nengine = "tantivy"\n', encoding="utf-8")
    first = subprocess.run(
        catalog_command(home, "search", "alliances"),
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=REPO,
    )
    assert first.returncode == 0, first.stderr
    assert "rebuilt the search index for tantivy (it was built by whoosh)" in first.stderr
    modules = imported_modules(catalog_command(home, "search", "alliances"))
    assert loaded(modules, "tantivy") and not loaded(modules, "whoosh")
    assert [p for p in NOT_ON_THE_READ_PATH if loaded(modules, p)] == []


def test_the_help_loads_no_search_engine(tmp_path: Path) -> None:
    modules = imported_modules(catalog_command(tmp_path, "--help"))
    assert not loaded(modules, "whoosh") and not loaded(modules, "tantivy")
    assert [p for p in NOT_ON_THE_READ_PATH if loaded(modules, p)] == []


def test_citation_formats_still_load_their_writers(crawled_home: Path) -> None:
    command = catalog_command(crawled_home, "search", "alliances", "--format", "ris")
    modules = imported_modules(command)
    assert loaded(modules, "rispy")


def test_option_values_spelled_out_in_the_cli_match_the_library() -> None:
    from catalog import cli, index
    from catalog import sql as catalog_sql

    assert cli.SORTS == index.SORTS
    assert cli.MAX_LIMIT == index.MAX_LIMIT
    assert cli.SQL_TIMEOUT == catalog_sql.DEFAULT_TIMEOUT
