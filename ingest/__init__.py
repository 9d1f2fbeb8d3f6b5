"""The ingest pipeline: public submit routes, validation, spam checks, rate limits, idempotency, de-duplication."""
