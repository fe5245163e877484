"""Deploy this checkout to Scrapyd without writing into it.

``scrapyd-deploy`` (scrapyd-client 2.x) always builds with ``python setup.py bdist_egg`` in the
project folder: it writes a ``setup.py`` there when there is none and leaves ``build/`` and an
``.egg-info`` behind. This runs it on a temporary copy of the checkout instead (the files git
tracks plus new ones it does not ignore; every file when git is unavailable), so the checkout
stays as it was. Arguments go to ``scrapyd-deploy`` unchanged::

    .venv/bin/python deploy/scrapyd/deploy.py            # the [deploy] target in scrapy.cfg
    .venv/bin/python deploy/scrapyd/deploy.py crawler1   # a [deploy:crawler1] target
    .venv/bin/python deploy/scrapyd/deploy.py -a         # every target

Targets can live outside the checkout, in ``~/.config/scrapy.cfg`` (``XDG_CONFIG_HOME``) or
``~/.scrapy.cfg``, which scrapyd-deploy reads as well.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
# Never shipped when git cannot say what belongs to the project.
IGNORED = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")


def project_files(root: Path) -> list[Path] | None:
    """What git considers the project (tracked, or new and not ignored); None without git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    names = [name for name in listed.decode().split("\0") if name]
    return [Path(name) for name in names if (root / name).is_file()]  # skip deleted files


def copy_checkout(root: Path, target: Path) -> None:
    files = project_files(root)
    if files is None:
        shutil.copytree(root, target, ignore=shutil.ignore_patterns(*IGNORED))
        return
    for relative in files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target / relative)


def scrapyd_deploy() -> str:
    """The scrapyd-deploy beside this Python (the project's venv), else the one on PATH."""
    found = shutil.which("scrapyd-deploy", path=str(Path(sys.executable).parent))
    found = found or shutil.which("scrapyd-deploy")
    if found is None:
        sys.exit("scrapyd-deploy not found: pip install scrapyd-client")
    return found


def absolute_paths(args: list[str]) -> list[str]:
    """``--egg`` and ``--build-egg`` files are the caller's, not the temporary copy's."""
    fixed: list[str] = []
    expects_path = False
    for arg in args:
        if expects_path:
            arg, expects_path = str(Path(arg).resolve()), False
        elif arg in ("--egg", "--build-egg"):
            expects_path = True
        elif arg.startswith(("--egg=", "--build-egg=")):
            option, _, value = arg.partition("=")
            arg = f"{option}={Path(value).resolve()}"
        fixed.append(arg)
    return fixed


def main(args: list[str]) -> int:
    command = scrapyd_deploy()
    with tempfile.TemporaryDirectory(prefix="thinktank-deploy-") as tmp:
        copy = Path(tmp) / "project"
        copy_checkout(CHECKOUT, copy)
        return subprocess.run([command, *absolute_paths(args)], cwd=copy).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
