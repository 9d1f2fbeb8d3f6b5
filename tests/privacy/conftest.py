"""The privacy tests use the ingest tests' app and settings fixtures (the data comes from submitting)."""

from tests.ingest.conftest import app_client, ingest_settings

__all__ = ("app_client", "ingest_settings")
