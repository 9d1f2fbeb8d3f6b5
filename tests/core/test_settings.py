"""Settings: read once from LEADWIRE_* variables, strict about names and values."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import pytest

from core.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from pathlib import Path


def test_defaults_are_a_local_sqlite_file_in_development(tmp_path: Path) -> None:
    settings = load_settings({"LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/lw.db"})
    assert settings.env == "development"
    assert settings.is_sqlite
    assert settings.sqlite_path == tmp_path / "lw.db"
    assert len(settings.secret_key) >= 32


def test_default_database_url_is_leadwire_db_in_the_working_directory() -> None:
    settings = load_settings({"LEADWIRE_SECRET_KEY": "k" * 32})
    assert settings.database_url == "sqlite+aiosqlite:///./leadwire.db"


def test_unknown_variable_is_an_error_that_suggests_the_right_name() -> None:
    with pytest.raises(SettingsError, match=r"LEADWIRE_DATABSE_URL \(did you mean LEADWIRE_DATABASE_URL\?\)"):
        load_settings({"LEADWIRE_DATABSE_URL": "sqlite+aiosqlite:///x.db", "LEADWIRE_SECRET_KEY": "k" * 32})


def test_variables_without_the_prefix_are_ignored() -> None:
    settings = load_settings({"DATABASE_URL": "nonsense", "LEADWIRE_SECRET_KEY": "k" * 32})
    assert settings.database_url.startswith("sqlite")


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="LEADWIRE_DB_POOL_SIZE"):
        load_settings({"LEADWIRE_DB_POOL_SIZE": "lots", "LEADWIRE_SECRET_KEY": "k" * 32})
    with pytest.raises(SettingsError, match="LEADWIRE_ENV"):
        load_settings({"LEADWIRE_ENV": "staging", "LEADWIRE_SECRET_KEY": "k" * 32})


def test_numbers_and_flags_are_coerced_from_text() -> None:
    settings = load_settings({"LEADWIRE_DB_POOL_SIZE": "25", "LEADWIRE_SECRET_KEY": "k" * 32})
    assert settings.db_pool_size == 25


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEADWIRE_DATABASE_URL", "mysql://root@localhost/x", "unsupported database"),
        ("LEADWIRE_DATABASE_URL", "::not a url::", "not a database URL"),
        ("LEADWIRE_PUBLIC_BASE_URL", "ftp://example.com", "http"),
        ("LEADWIRE_SECRET_KEY", "short", "at least 32"),
        ("LEADWIRE_DELIVERY_RETRY_SCHEDULE", "5,nan", "0 to 7 days"),
        ("LEADWIRE_DELIVERY_RETRY_SCHEDULE", "5,inf", "0 to 7 days"),
        ("LEADWIRE_DELIVERY_RETRY_SCHEDULE", "5,soon", "0 to 7 days"),
        ("LEADWIRE_DELIVERY_LEASE_SECONDS", "10", "must exceed"),
        ("LEADWIRE_RATE_LIMIT_MEMORY_CAPACITY", "10", "from 1,000 to 100,000,000"),
        ("LEADWIRE_SMTP_URL", "mail.example.com:587", "expected smtp://"),
        ("LEADWIRE_SMTP_URL", "smtp://:587", "no host"),
        ("LEADWIRE_SMTP_URL", "smtp://mail.example.com:port", "not a number"),
        ("LEADWIRE_SMTP_URL", "smtp://mail.example.com", "LEADWIRE_SMTP_FROM: set the sender"),
        ("LEADWIRE_SECOND_FACTOR_LIMIT", "often", "expected limits"),
    ],
)
def test_bad_values_are_start_up_errors(name: str, value: str, message: str) -> None:
    environ = {"LEADWIRE_SECRET_KEY": "k" * 32, name: value}
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="LEADWIRE_SECRET_KEY is required"):
        load_settings({"LEADWIRE_ENV": "production", "LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/a.db"})
    assert not (tmp_path / "a.db.secret").exists()


def test_development_key_is_generated_once_beside_the_database_and_kept_private(tmp_path: Path) -> None:
    environ = {"LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/data/lw.db"}
    first = load_settings(environ)
    key_file = tmp_path / "data" / "lw.db.secret"
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_settings(environ).secret_key == first.secret_key


def test_an_explicit_key_wins_over_the_file(tmp_path: Path) -> None:
    environ = {"LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/lw.db"}
    load_settings(environ)
    explicit = load_settings({**environ, "LEADWIRE_SECRET_KEY": "e" * 40})
    assert explicit.secret_key == "e" * 40


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings({"LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/lw.db"})
    with pytest.raises(AttributeError):
        settings.env = "production"  # type: ignore[misc]


_KEY = {"LEADWIRE_SECRET_KEY": "k" * 32}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEADWIRE_DB_POOL_SIZE", "ten", "LEADWIRE_DB_POOL_SIZE: expected a whole number from 1 to 200, got 'ten'"),
        ("LEADWIRE_DB_POOL_SIZE", "0", "LEADWIRE_DB_POOL_SIZE: expected a whole number from 1 to 200, got '0'"),
        (
            "LEADWIRE_DELIVERY_TIMEOUT_SECONDS",
            "soon",
            "LEADWIRE_DELIVERY_TIMEOUT_SECONDS: expected a number above 0, at most 120, got 'soon'",
        ),
        ("LEADWIRE_RUN_WORKER", "maybe", "LEADWIRE_RUN_WORKER: expected true or false .*yes/no, on/off, 1/0"),
        ("LEADWIRE_ENV", "staging", "LEADWIRE_ENV: expected one of development, production; got 'staging'"),
        ("LEADWIRE_LOG_LEVEL", "loud", "LEADWIRE_LOG_LEVEL: expected one of debug, info, warning, error; got"),
    ],
)
def test_bad_values_say_in_words_what_is_expected(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"^{message}"):
        load_settings({**_KEY, name: value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", True), ("ON", True), ("1", True), ("true", True), ("no", False), ("off", False), ("0", False)],
)
def test_flags_accept_the_usual_words(value: str, expected: bool) -> None:
    assert load_settings({**_KEY, "LEADWIRE_RUN_WORKER": value}).run_worker is expected


def test_choices_ignore_case_and_spaces() -> None:
    assert load_settings({**_KEY, "LEADWIRE_LOG_LEVEL": " WARNING "}).log_level == "warning"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+asyncpg"])
def test_postgresql_urls_without_a_driver_use_asyncpg(scheme: str) -> None:
    settings = load_settings({**_KEY, "LEADWIRE_DATABASE_URL": f"{scheme}://lw:pw@127.0.0.1:5432/leadwire"})
    assert settings.database_url == "postgresql+asyncpg://lw:pw@127.0.0.1:5432/leadwire"


def test_an_sqlite_url_without_a_driver_uses_aiosqlite(tmp_path: Path) -> None:
    settings = load_settings({**_KEY, "LEADWIRE_DATABASE_URL": f"sqlite:///{tmp_path}/lw.db"})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/lw.db"


@pytest.mark.parametrize("url", ["postgresql+psycopg://lw@127.0.0.1/x", "sqlite+pysqlite:///x.db"])
def test_another_driver_is_refused_naming_the_one_to_use(url: str) -> None:
    with pytest.raises(SettingsError, match=r"LEADWIRE_DATABASE_URL: .*(postgresql\+asyncpg|sqlite\+aiosqlite)://"):
        load_settings({**_KEY, "LEADWIRE_DATABASE_URL": url})


def test_an_sqlite_directory_that_cannot_be_created_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SettingsError, match=f"LEADWIRE_DATABASE_URL: cannot create {blocker}/sub"):
        load_settings({"LEADWIRE_DATABASE_URL": f"sqlite+aiosqlite:///{blocker}/sub/lw.db"})


def test_pull_providers_base_urls_are_operator_settings() -> None:
    settings = load_settings(
        {
            "LEADWIRE_SECRET_KEY": "k" * 32,
            "LEADWIRE_INDIAMART_BASE_URL": "http://127.0.0.1:9/indiamart/",
            "LEADWIRE_TRADEINDIA_BASE_URL": "http://127.0.0.1:9/tradeindia",
            "LEADWIRE_99ACRES_BASE_URL": "http://127.0.0.1:9/99acres/",
            "LEADWIRE_PULL_INTERVAL_SECONDS": "900",
        }
    )
    assert settings.indiamart_base_url == "http://127.0.0.1:9/indiamart/"
    assert settings.tradeindia_base_url == "http://127.0.0.1:9/tradeindia"
    assert settings.acres99_base_url == "http://127.0.0.1:9/99acres/"
    assert settings.pull_interval_seconds == 900
    defaults = load_settings({"LEADWIRE_SECRET_KEY": "k" * 32})
    assert defaults.pull_interval_seconds == 0  # each provider's own default
    assert defaults.acres99_base_url.startswith("https://")


@pytest.mark.parametrize("name", ["LEADWIRE_99ACRES_BASE_URL", "LEADWIRE_INDIAMART_BASE_URL"])
def test_a_pull_base_url_must_be_http(name: str) -> None:
    with pytest.raises(SettingsError, match=f"{name}: must start with http"):
        load_settings({"LEADWIRE_SECRET_KEY": "k" * 32, name: "file:///etc/passwd"})


def test_a_misspelt_99acres_setting_suggests_the_right_name() -> None:
    with pytest.raises(SettingsError, match="did you mean LEADWIRE_99ACRES_BASE_URL"):
        load_settings({"LEADWIRE_SECRET_KEY": "k" * 32, "LEADWIRE_99ACRE_BASE_URL": "http://127.0.0.1:9/"})
