"""Every shell example in the README and in docs/ runs, as written, against a demo catalog.

A ```sh (or ```console) block is run whole by bash (``set -euo pipefail``) in a folder of
its own, with ``catalog`` (and ``python``) from this venv first on PATH, ``CATALOG_HOME`` and
``./demo-home`` pointing at a catalog ``catalog demo`` built, and a ``report.sql`` beside it
(for ``catalog sql - < report.sql``); it must exit 0. A block that cannot run here (it needs
rand.org, a server, another machine, or is the suite itself) is preceded in the page by
``<!-- docs-test: skip (REASON) -->``, which the rendered page does not show.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, clean_env

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELLS = ("sh", "console")
BLOCK = re.compile(
    r"^(?:<!-- docs-test: skip \((?P<reason>.+?)\) -->\n)?"
    r"```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
REPORT_SQL = "SELECT id, title FROM publications ORDER BY id LIMIT 5\n"


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    lang: str
    body: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def examples(page: Path) -> list[Example]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("lang")) + 1
        found.append(
            Example(page, line, match["lang"], match["body"], match["reason"]),
        )
    return found


EXAMPLES = [example for page in PAGES for example in examples(page)]
SHELL = [example for example in EXAMPLES if example.lang in SHELLS]
RUN = [example for example in SHELL if example.skip is None]


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog as the README's first command leaves it: ``catalog --home demo-home demo``."""
    home = tmp_path_factory.mktemp("docs") / "demo-home"
    result = subprocess.run(
        [sys.executable, "-m", "catalog", "--home", str(home), "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    return home


@pytest.mark.slow  # a demo, then every example in a shell
@pytest.mark.parametrize("example", RUN, ids=lambda e: e.id)
def test_example_runs(example: Example, demo_home: Path, tmp_path: Path) -> None:
    (tmp_path / "demo-home").symlink_to(demo_home)
    (tmp_path / "report.sql").write_text(REPORT_SQL)
    bin_dir = Path(sys.executable).parent
    env = clean_env(
        CATALOG_HOME=str(demo_home),
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=str(REPO),  # `python -m benchmarks` from anywhere, as from the checkout
        COLUMNS="100",
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", example.body],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, f"{example.id} exited {result.returncode}:\n{result.stderr}"


def test_the_docs_have_examples_to_run() -> None:
    assert len(RUN) >= 10
    assert {example.page.name for example in RUN} >= {"README.md", "search.md", "sql-and-export.md"}


def test_every_skipped_example_says_why() -> None:
    for example in SHELL:
        assert example.skip is None or len(example.skip.split()) >= 2, example.id


def test_no_skip_comment_is_left_without_its_block() -> None:
    """A skip comment counts only right above a fence; one anywhere else skips nothing."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert len(re.findall(r"^<!-- docs-test: skip", text, re.MULTILINE)) == sum(
            1 for example in examples(page) if example.skip is not None
        ), page.name


def test_the_readme_commands_are_what_ci_runs() -> None:
    """The README's first command sets up and runs the demo; its second is what CI runs."""
    readme = [example for example in EXAMPLES if example.page.name == "README.md"]
    setup, tests = readme[0].body.strip(), readme[1].body.strip()
    assert setup.startswith("python3 -m venv .venv && ") and setup.endswith(" demo"), setup
    install = ".venv/bin/pip install -e '.[test]'"
    assert install in setup
    ci = (REPO / ".ci" / "run").read_text()
    assert install.replace("install", "install --quiet") in ci
    assert ci.rstrip().splitlines()[-1] == tests == ".venv/bin/python -m pytest"
    assert shlex.split(setup)[-2:] == ["demo-home", "demo"]


def test_the_bash_completion_line_runs(tmp_path: Path) -> None:
    """docs/commands.md's completion block is for start-up files; its bash line works."""
    [block] = [e for e in SHELL if e.page.name == "commands.md" and "_COMPLETE" in e.body]
    [line] = [line for line in block.body.splitlines() if "bash_source" in line]
    env = clean_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f"{line}\ncomplete -p catalog"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0 and "catalog" in result.stdout, result.stderr
