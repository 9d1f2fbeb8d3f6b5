"""One line for a database that cannot be used, and only for the database: other failures keep their traceback."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from core.database_errors import describe_database_error

if TYPE_CHECKING:
    from pathlib import Path


def _missing(path: Path) -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))


def test_the_database_file_and_its_folder_name_the_setting(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/data/leadwire.db"
    for path in (tmp_path / "data" / "leadwire.db", tmp_path / "data" / "leadwire.db.keys", tmp_path / "data"):
        message = describe_database_error(_missing(path), url)
        assert message is not None
        assert "LEADWIRE_DATABASE_URL" in message


def test_another_file_is_not_blamed_on_the_database_setting(tmp_path: Path) -> None:
    # A file the package should have shipped (the favicon, once) is a bug to report, not a setting to check.
    url = f"sqlite+aiosqlite:///{tmp_path}/data/leadwire.db"
    shipped = tmp_path / "venv" / "site-packages" / "embeds" / "static" / "favicon.svg"
    assert describe_database_error(_missing(shipped), url) is None
    assert describe_database_error(_missing(shipped), "postgresql+asyncpg://db.internal/leadwire") is None
