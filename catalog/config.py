"""Where a catalog lives: its home folder, database URL and index folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "thinktank-catalog"
ENV_HOME = "CATALOG_HOME"
ENV_DB = "CATALOG_DB"


@dataclass(frozen=True, slots=True)
class CatalogConfig:
    """A resolved home: every path and URL the catalog's modules need."""

    home: Path
    db_url: str

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def log_file(self) -> Path:
        return self.home / "crawl.log"


def resolve(home: str | os.PathLike[str] | None = None, db: str | None = None) -> CatalogConfig:
    """Options beat environment variables, which beat the per-user data folder."""
    home_path = Path(
        home or os.environ.get(ENV_HOME) or platformdirs.user_data_dir(APP_NAME)
    ).expanduser()
    db_url = db or os.environ.get(ENV_DB) or f"sqlite:///{(home_path / 'catalog.db').resolve()}"
    return CatalogConfig(home=home_path.resolve(), db_url=db_url)
