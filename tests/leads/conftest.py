"""The leads tests use the ingest tests' app and settings fixtures (leads are made by submitting)."""

from tests.ingest.conftest import app_client, ingest_settings

__all__ = ("app_client", "ingest_settings")
