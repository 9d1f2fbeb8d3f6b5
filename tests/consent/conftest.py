"""The consent tests use the ingest tests' app and settings fixtures."""

from tests.ingest.conftest import app_client, ingest_settings

__all__ = ("app_client", "ingest_settings")
