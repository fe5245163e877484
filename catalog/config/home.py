"""Where a catalog lives: its home folder, database URL and index, resolved once a command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy.engine import URL

from catalog.config.toml import search_engine

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

    @property
    def search_engine(self) -> str:
        """The engine of this home's index: ``CATALOG_SEARCH_ENGINE``, else catalog.toml's
        ``[search] engine``, else whoosh (read each time: commands ask once)."""
        return search_engine(self.home)

    def search_index(self, engine: str | None = None):  # -> catalog.index.SearchIndex
        """This home's search index, opened for ``engine`` (the configured one by default)."""
        from catalog.index import open_index

        return open_index(self.index_dir, engine or self.search_engine)


def resolve(home: str | os.PathLike[str] | None = None, db: str | None = None) -> CatalogConfig:
    """Options beat environment variables, which beat the per-user data folder."""
    home_path = Path(
        home or os.environ.get(ENV_HOME) or platformdirs.user_data_dir(APP_NAME)
    ).expanduser()
    db_url = db or os.environ.get(ENV_DB) or sqlite_url(home_path.resolve() / "catalog.db")
    return CatalogConfig(home=home_path.resolve(), db_url=db_url)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file, for any path.

    Built with ``URL.create`` rather than by formatting, so a home such as
    ``~/my cat #1 ?x %20`` keeps its ``#``, ``?`` and ``%`` (rendered percent-encoded, and
    decoded again by ``make_url``).
    """
    return URL.create(drivername="sqlite", database=str(path)).render_as_string()
